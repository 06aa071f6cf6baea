/**
 * Structured logs: one JSON object per line with `severity` and `message`, which Cloud Logging
 * reads as they are. Everything goes to stderr so stdout stays free for command output.
 */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const ORDER: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries these fields (run_id, function, ...). */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** The lowest severity written (default INFO); the entry points pass $KPIS_LOG_LEVEL's (shared/settings.ts). */
  level?: Severity;
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'INFO';
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base = options.fields ?? {};
  const emit = (severity: Severity, message: string, fields?: Record<string, unknown>): void => {
    if (ORDER[severity] < ORDER[level]) return;
    write(JSON.stringify({ severity, message, ...base, ...fields, time: new Date().toISOString() }));
  };
  return {
    debug: (message, fields) => emit('DEBUG', message, fields),
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARNING', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
    child: (fields) => createLogger({ level, write, fields: { ...base, ...fields } }),
  };
}

export function parseSeverity(value: string | undefined): Severity | undefined {
  const upper = value?.toUpperCase();
  if (upper === 'WARN') return 'WARNING';
  return upper !== undefined && upper in ORDER ? (upper as Severity) : undefined;
}

/** A logger that drops everything, for callers that have nothing to say. */
export const silentLogger: Logger = createLogger({ write: () => undefined });
