/**
 * One root error for everything daily-kpis raises on purpose, with narrow subclasses, so callers
 * can tell a user's mistake (exit 2, never retried) from a failure worth retrying.
 */
export class KpisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, dates or message fields: the same input can never succeed. */
export class UsageError extends KpisError {}

/** A config file that does not match its schema; the message names the file and the path. */
export class ConfigError extends KpisError {}

/**
 * A setting with a bad value, named by where it came from: a flag (`--warehouse`, a UsageError)
 * or an environment variable (`KPIS_WAREHOUSE`, a ConfigError). `problem` says what it accepts.
 */
export function settingError(source: string, problem: string): UsageError | ConfigError {
  const message = `${source} ${problem}`;
  return source.startsWith('--') ? new UsageError(message) : new ConfigError(message);
}

/**
 * One problem in a config file: the JSON path it is at (`$.kpis.dau.key`), what is wrong, and for a
 * SQL file's problem the file as the config wrote it (`sqlLabel`).
 */
export interface ConfigProblem {
  path: string;
  problem: string;
  sqlLabel?: string;
}

/**
 * A config file's problems as fields; the message is formatted once, by formatConfigProblems.
 * `what` names the file's kind in it (`invalid calendar`); config by default.
 */
export class InvalidConfigError extends ConfigError {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];
  constructor(
    file: string,
    problems: ConfigProblem | readonly ConfigProblem[],
    options: { cause?: unknown; what?: string } = {},
  ) {
    const list = Array.isArray(problems) ? problems : [problems as ConfigProblem];
    super(formatConfigProblems(file, list, options.what), { cause: options.cause });
    this.file = file;
    this.problems = list;
  }
  /** The first problem's path and text: most configs fail on one. */
  get path(): string {
    return this.problems[0]?.path ?? '$';
  }
  get problem(): string {
    return this.problems[0]?.problem ?? '';
  }
}

/** `FILE: invalid config` and one indented `PATH: PROBLEM` line per problem. */
function formatConfigProblems(file: string, problems: readonly ConfigProblem[], what = 'config'): string {
  const lines = problems.map(
    ({ path, problem, sqlLabel }) => `  ${path}${sqlLabel === undefined ? '' : ` (${sqlLabel})`}: ${problem}`,
  );
  return `${file}: invalid ${what}\n${lines.join('\n')}`;
}

/**
 * A file, folder or port of this machine the command cannot use (in the way, missing, not
 * writable, taken): the same command fails the same way until the user changes it, so exit 2, but
 * its usage would not help. The message names the thing and, where the command knows it, the flag.
 */
export class LocalResourceError extends KpisError {}

/** What a Node system error's code means, in the words a user acts on. */
const SYSTEM_ERROR_REASONS = new Map<string, string>([
  ['ENOENT', 'no such file or directory'],
  ['EEXIST', 'a file of that name is in the way'],
  ['ENOTDIR', 'not a directory'],
  ['EISDIR', 'it is a directory'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['EROFS', 'read-only file system'],
  ['EADDRINUSE', 'in use'],
]);

/** The few words for a Node system error (a file call, a listen) a user can act on; null for any other error. */
export function systemErrorReason(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const { code, syscall } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && typeof syscall === 'string' ? (SYSTEM_ERROR_REASONS.get(code) ?? null) : null;
}

/**
 * A Node system error as a LocalResourceError of one line: `DOING: REASON` where the caller says what
 * it was doing (`cannot write to DIR (--dir)`), else from the call (`cannot mkdir /x`, `port
 * 127.0.0.1:80 is in use`). Any other error comes back as it is.
 */
export function asLocalResourceError(error: unknown, doing?: string): unknown {
  const reason = systemErrorReason(error);
  if (reason === null) return error;
  const { code, syscall, path, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (doing === undefined && code === 'EADDRINUSE')
    return new LocalResourceError(`port ${address}:${port} is in use`, { cause: error });
  const where = path ?? (address === undefined ? '' : `${address}:${port}`);
  return new LocalResourceError(`${doing ?? `cannot ${syscall} ${where}`}: ${reason}`, { cause: error });
}

/** An input file that cannot be loaded; the message names the file, line and column. */
export class InputFileError extends KpisError {}

/** A warehouse call that failed; `transient` says whether running it again may succeed. */
export class WarehouseError extends KpisError {
  readonly transient: boolean;
  constructor(message: string, options: { cause?: unknown; transient: boolean }) {
    super(message, { cause: options.cause });
    this.transient = options.transient;
  }
}

/** Where in a statement the engine found the problem, 1-based; null when it did not say. */
export interface SqlPosition {
  line: number;
  column: number;
}

/** A statement the engine rejected (syntax, names, types), with where it found the problem. */
export class QueryError extends WarehouseError {
  readonly position: SqlPosition | null;
  constructor(message: string, options: { cause?: unknown; position: SqlPosition | null }) {
    super(message, { cause: options.cause, transient: false });
    this.position = options.position;
  }
}

/** A statement named a table or dataset that does not exist (any more): permanent, and a cue to forget cached tables. */
export class TableNotFoundError extends WarehouseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, transient: false });
  }
}

/** Coerces anything thrown into an Error, keeping the original as its cause. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown), { cause: thrown });
}

/** A message the broker did not accept; the caller's retry (Pub/Sub redelivery) may succeed. */
export class PublishError extends KpisError {}

/** A publish to a topic the broker does not have (Pub/Sub's NOT_FOUND): the same publish fails again, so it is not a PublishError. */
export class TopicNotFoundError extends KpisError {
  constructor(
    readonly topic: string,
    where: string,
  ) {
    super(`${where} has no topic ${topic} (NOT_FOUND)`);
  }
}

/** A Pub/Sub message that can never succeed (not JSON, bad date, unknown field): acknowledged, never retried. */
export class InvalidMessageError extends KpisError {}

/** Network failures below any API: the request may not have arrived, so it is worth sending again. */
const NETWORK_FAILURE = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|EPIPE|socket hang up|fetch failed|network/i;

/**
 * Whether running the same work again may succeed (README: "Failure classification"). Transient:
 * a warehouse call the adapter marks so (HTTP 429 and 5xx, rate limits, concurrent-update aborts, a
 * held lock), a publish the broker did not accept, a network failure. Everything else, our own
 * errors (a bad message, config or file) and SQL or schema errors included, fails again the same
 * way: it is acknowledged with its reason, never retried.
 */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof WarehouseError) return error.transient;
  if (error instanceof PublishError) return true;
  if (error instanceof KpisError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  return NETWORK_FAILURE.test(
    `${typeof code === 'string' ? code : ''} ${error instanceof Error ? error.message : String(error)}`,
  );
}
