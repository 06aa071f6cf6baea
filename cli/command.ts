/** What every `kpis` command is made of, and the output helpers they share. */
import type { ParseArgsConfig } from 'node:util';
import type { EtlJob } from '../shared/config/etl-config';
import { DISPLAY_WIDTH, displayText } from '../shared/format';
import type { Settings } from '../shared/settings';
import { openRuntime, type Io, type Runtime, type Values } from './context';

export type Options = NonNullable<ParseArgsConfig['options']>;
/** Parsed options; declared with the runtime that reads them (context.ts), so the two files do not import each other. */
export type { Values } from './context';

export interface Command {
  summary: string;
  usage: string;
  details: string;
  options: Options;
  /** Positional arguments the command takes (default none). */
  positionals?: { min: number; max: number; name: string };
  /** Returns the exit code. */
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

export const COMMON: Options = {
  warehouse: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const COMMON_HELP = `Common options:
  --warehouse SPEC   duckdb:PATH (default duckdb:.data/warehouse.duckdb, or $KPIS_WAREHOUSE)
                     or bigquery:PROJECT_ID (location $KPIS_BQ_LOCATION, default US;
                     byte cap $KPIS_MAX_BYTES_BILLED, default 100 GiB)
  --config FILE      ETL config (default config/daily_kpis_config.json, or $KPIS_CONFIG)
  --json             print exactly one JSON document on stdout; logs go to stderr
  --verbose          print JSON log lines on stderr
  -h, --help         this help`;

/** Opens the runtime the settings describe for `work` (--verbose from `values`) and closes it after. */
export function withRuntime<T>(
  settings: Settings,
  values: Values,
  io: Io,
  work: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  return withJobRuntime(undefined, settings, values, io, work);
}

/** The same, for a command that loaded the ETL config already (to know today in its zone): it is not read twice. */
export async function withJobRuntime<T>(
  job: EtlJob | undefined,
  settings: Settings,
  values: Values,
  io: Io,
  work: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const runtime = await openRuntime(settings, io, { verbose: values.verbose as boolean | undefined, job });
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Fixed-width columns: the first left-aligned, the rest right-aligned, except those listed. Each
 * cell is one line of at most DISPLAY_WIDTH.message characters (a command cuts its labels
 * shorter), so no value from the warehouse can widen a table without bound.
 */
export function table(header: string[], cells: string[][], leftAligned: number[] = [0]): string {
  const rows = cells.map((row) => row.map((cell) => displayText(cell, DISPLAY_WIDTH.message)));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        leftAligned.includes(i) ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
