/** Joi validation that fails with the file name, the JSON path and what was expected. */
import { readFileSync } from 'node:fs';
import Joi from 'joi';
import { ConfigError, InvalidConfigError } from '../errors';
import { FILE_SETTINGS, type Settings } from '../settings';
import { reservedKeyPath, reservedNameRule } from './names';

/** A config file that cannot be read; `source` is the flag or variable that named it, when one did. */
export class UnreadableConfigError extends ConfigError {
  readonly file: string;
  readonly code: string;
  constructor(file: string, code: string, options: { cause?: unknown; source?: string } = {}) {
    super(
      `${file}: cannot read config file (${code})${options.source === undefined ? '' : ` (from ${options.source})`}`,
      { cause: options.cause },
    );
    this.file = file;
    this.code = code;
  }
}

/**
 * Runs `load`, which reads config files the settings name: a file it cannot read is said with the
 * flag or variable that named it (a default file needs no such note).
 */
export function namingSettingFiles<T>(settings: Settings, load: () => T): T {
  try {
    return load();
  } catch (error) {
    throw withSettingSource(settings, error);
  }
}

/** The error, or for a file the settings name from a flag or variable, the same error saying which. */
export function withSettingSource(settings: Settings, error: unknown): unknown {
  if (!(error instanceof UnreadableConfigError)) return error;
  const name = FILE_SETTINGS.find(
    (setting) => settings[setting] === error.file && settings.sources[setting] !== undefined,
  );
  if (name === undefined) return error;
  return new UnreadableConfigError(error.file, error.code, { cause: error.cause, source: settings.sources[name] });
}

/** Reads and validates one JSON config file; defaults from the schema are applied. */
export function loadJsonConfig<T>(file: string, schema: Joi.Schema<T>): T {
  return validateConfig(readJsonConfig(file), schema, file);
}

/** Reads one JSON config file, failing with the file's name. */
export function readJsonConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UnreadableConfigError(file, (error as NodeJS.ErrnoException).code ?? String(error), { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  // Before joi, whose copy of an object silently drops an own __proto__ key (and the check in it).
  const reserved = reservedKeyPath(parsed);
  if (reserved !== null) throw new InvalidConfigError(file, { path: reserved, problem: reservedNameRule(reserved) });
  return parsed;
}

/** `what` names the kind of file in the error (`FILE: invalid calendar`); a config by default. */
export function validateConfig<T>(value: unknown, schema: Joi.Schema<T>, file: string, what?: string): T {
  const { error, value: validated } = schema.validate(value, { abortEarly: false, convert: false });
  if (error) {
    const problems = error.details.map((detail) => ({
      path: jsonPath(detail.path),
      problem: detail.message.replace(/^"[^"]*" /, ''),
    }));
    throw new InvalidConfigError(file, problems, { cause: error, what });
  }
  return validated;
}

/** One accepted shape of a config file: its name and outline for messages, and its schema. */
export interface ConfigShape<T> {
  name: string;
  outline: string;
  schema: Joi.Schema<T>;
}

/**
 * Validates a file that may come in either of two shapes (daily-kpis' own, or the cron job's).
 * When it fits neither, the error lists the problems against each, the closest shape first, so it
 * says which shape the file almost matched and what to change.
 */
export function validateEitherShape<A, B>(
  value: unknown,
  file: string,
  first: ConfigShape<A>,
  second: ConfigShape<B>,
): { shape: 'first'; value: A } | { shape: 'second'; value: B } {
  const attempts = [first, second].map((shape) => ({
    shape,
    result: shape.schema.validate(value, { abortEarly: false, convert: false }),
  }));
  const [a, b] = attempts as [(typeof attempts)[number], (typeof attempts)[number]];
  if (!a.result.error) return { shape: 'first', value: a.result.value as A };
  if (!b.result.error) return { shape: 'second', value: b.result.value as B };
  const ranked = [...attempts].sort(
    (x, y) => (x.result.error?.details.length ?? 0) - (y.result.error?.details.length ?? 0),
  );
  const lines = ranked.map(({ shape, result }, index) => {
    const problems = (result.error?.details ?? []).map(
      (detail) => `    ${jsonPath(detail.path)}: ${detail.message.replace(/^"[^"]*" /, '')}`,
    );
    return `  ${index === 0 ? 'closest, ' : ''}as ${shape.name} ${shape.outline}, ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`;
  });
  throw new ConfigError(`${file}: invalid config, in neither accepted shape\n${lines.join('\n')}`);
}

/** ['a', 'kpis', 0] -> $.a.kpis[0] */
function jsonPath(segments: (string | number)[]): string {
  return segments.reduce<string>(
    (acc, segment) => (typeof segment === 'number' ? `${acc}[${segment}]` : `${acc}.${segment}`),
    '$',
  );
}

/** Dataset, table and column names: letters, digits and underscores, as BigQuery and DuckDB both accept. */
export const identifier = Joi.string()
  .pattern(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/)
  .messages({
    'string.pattern.base':
      '{{#label}} must be letters, digits and underscores, starting with a letter or underscore, got {{#value}}',
  });

/** One of a fixed set of values; the error lists them. */
export const oneOf = <T extends string>(values: readonly T[]) =>
  Joi.string()
    .valid(...values)
    .messages({ 'any.only': `{{#label}} must be one of ${values.join(', ')}, got {{#value}}` });
