/** Joi validation that fails with the file name, the JSON path and what was expected. */
import { readFileSync } from 'node:fs';
import Joi from 'joi';
import { ConfigError } from '../errors';

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
    throw new ConfigError(`${file}: cannot read config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

export function validateConfig<T>(value: unknown, schema: Joi.Schema<T>, file: string): T {
  const { error, value: validated } = schema.validate(value, { abortEarly: false, convert: false });
  if (error) {
    const problems = error.details.map((detail) => `${jsonPath(detail.path)}: ${detail.message.replace(/^"[^"]*" /, '')}`);
    throw new ConfigError(`${file}: invalid config\n  ${problems.join('\n  ')}`, { cause: error });
  }
  return validated;
}

/** ['a', 'kpis', 0] -> $.a.kpis[0] */
function jsonPath(segments: (string | number)[]): string {
  return segments.reduce<string>((acc, segment) => (typeof segment === 'number' ? `${acc}[${segment}]` : `${acc}.${segment}`), '$');
}

/** Dataset, table and column names: letters, digits and underscores, as BigQuery and DuckDB both accept. */
export const identifier = Joi.string().pattern(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/).messages({
  'string.pattern.base': '{{#label}} must be letters, digits and underscores, starting with a letter or underscore, got {{#value}}',
});

/** One of a fixed set of values; the error lists them. */
export const oneOf = <T extends string>(values: readonly T[]) =>
  Joi.string()
    .valid(...values)
    .messages({ 'any.only': `{{#label}} must be one of ${values.join(', ')}, got {{#value}}` });
