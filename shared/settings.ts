/**
 * Environment variables, parsed with one rule: an empty value counts as unset (so `VAR=` in a
 * deployment falls back to the default), and a bad value is a ConfigError that names the variable
 * and what it accepts. Read once, where a runtime or a command is built.
 */
import { ConfigError } from './errors';
import { parseSeverity, type Severity } from './log';

const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

/** The variable's value, or undefined when it is unset or empty. */
export function envValue<E extends object>(env: E, name: string): string | undefined {
  const value = (env as Record<string, string | undefined>)[name];
  return value === undefined || value === '' ? undefined : value;
}

/** KPIS_LOG_LEVEL: DEBUG, INFO, WARNING (or WARN) or ERROR, any case; undefined when unset. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv): Severity | undefined {
  const raw = envValue(env, 'KPIS_LOG_LEVEL');
  if (raw === undefined) return undefined;
  const level = parseSeverity(raw);
  if (!level) throw new ConfigError(`KPIS_LOG_LEVEL must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(raw)}`);
  return level;
}

/** A positive number, or the fallback when unset. */
export function positiveNumberFromEnv<E extends object>(env: E, name: string, fallback: number): number {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}
