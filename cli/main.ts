/**
 * `kpis`: the command line of daily-kpis. Each command parses its flags, opens the runtime and
 * calls one use-case from shared/. Exit codes: 0 done, 1 failed, 2 bad flags, dates or config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveDateRange, type DateRange } from '../shared/dates';
import { ConfigError, KpisError, UsageError } from '../shared/errors';
import { runEtl, type EtlOutcome } from '../shared/etl/run-etl';
import { initWarehouse } from '../shared/etl/init';
import { configuredSource, loadEvents } from '../shared/events/load-events';
import { DEMO_DAYS, seedDemo } from '../shared/events/seed-demo';
import { EVENT_FORMATS, type EventFormat } from '../shared/events/parse-events';
import { SUMMARY_METRICS, type DailySummary } from '../shared/reports/daily-summary';
import { quickStart } from '../shared/quick-start';
import { clockFrom, describeWarehouse, openRuntime, today, type Io, type Runtime } from './context';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  details: string;
  options: Options;
  /** Returns the exit code. */
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

const COMMON: Options = {
  warehouse: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `Common options:
  --warehouse SPEC   duckdb:PATH (default duckdb:.data/warehouse.duckdb, or $KPIS_WAREHOUSE)
                     or bigquery:PROJECT_ID (location $KPIS_BQ_LOCATION, default US;
                     byte cap $KPIS_MAX_BYTES_BILLED, default 100 GiB)
  --config FILE      ETL config (default config/daily_kpis_config.json, or $KPIS_CONFIG)
  --json             print exactly one JSON document on stdout; logs go to stderr
  --verbose          print JSON log lines on stderr
  -h, --help         this help`;

const DATE_HELP = `  --date D           one day, YYYY-MM-DD (UTC)
  --days-back N      today-N .. today (default 1: yesterday and today)
  --from D --to D    an inclusive range`;

const DATE_OPTIONS: Options = {
  date: { type: 'string' },
  'days-back': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
};

function dateRangeFrom(values: Values, runtimeToday: string) {
  const daysBack = values['days-back'];
  if (daysBack !== undefined && !/^\d+$/.test(String(daysBack))) {
    throw new UsageError(`--days-back must be a whole number of days, 0 or more, got ${JSON.stringify(daysBack)}`);
  }
  return resolveDateRange(
    {
      date: values.date as string | undefined,
      daysBack: daysBack === undefined ? undefined : Number(daysBack),
      from: values.from as string | undefined,
      to: values.to as string | undefined,
    },
    runtimeToday,
  );
}

async function withRuntime<T>(values: Values, io: Io, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime({ warehouse: values.warehouse as string | undefined, config: values.config as string | undefined, verbose: values.verbose as boolean | undefined }, io);
  try {
    return await work(runtime);
  } finally {
    await runtime.warehouse.close();
  }
}

function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Writes the script a dry run would send, so it can be read or pasted into the console. */
function writeDryRunSql(outcome: EtlOutcome, engine: string): string {
  const folder = path.resolve('.data/sql');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `etl_${outcome.result.start_date}_${outcome.result.end_date}.${engine}.sql`);
  writeFileSync(file, outcome.script ?? '');
  return path.relative(process.cwd(), file);
}

async function etlCommand(values: Values, io: Io, runtime: Runtime, range: DateRange): Promise<number> {
  const kpis = typeof values.kpis === 'string' ? values.kpis.split(',').map((name) => name.trim()).filter(Boolean) : undefined;
  const outcome = await runEtl(runtime, runtime.job, {
    range,
    kpis,
    dryRun: Boolean(values['dry-run']),
    runId: runtime.newRunId(),
    username: runtime.username,
  });
  const sqlFile = outcome.result.dry_run ? writeDryRunSql(outcome, runtime.warehouse.engine) : undefined;
  if (values.json) {
    printJson(io, sqlFile ? { ...outcome.result, sql_file: sqlFile } : outcome.result);
  } else {
    const { result } = outcome;
    const what = `${result.tables.join(', ')} for ${result.start_date}..${result.end_date}`;
    if (result.status === 'failed') {
      // A dry run changes nothing, so it cannot create the tables a first real run would.
      const hint = result.dry_run && /does not exist|Not found: Table/i.test(result.error ?? '') ? '\nCreate the tables first with `kpis init`.' : '';
      io.stderr(`ETL failed (run ${result.run_id}): ${result.error}${hint}\n`);
    }
    else if (result.dry_run) {
      const bytes = result.bytes_processed == null ? 'no byte estimate on this engine' : `would process ${formatBytes(result.bytes_processed)}`;
      io.stdout(`Dry run of ${what}: valid, ${bytes}. SQL written to ${sqlFile}\n`);
    } else io.stdout(`ETL succeeded (run ${result.run_id}): ${what} on ${describeWarehouse(runtime.spec)}\n`);
  }
  return outcome.result.status === 'succeeded' ? 0 : 1;
}

function summaryTable(previousDate: string, date: string, previous: DailySummary, current: DailySummary): string {
  const rows = SUMMARY_METRICS.map((metric) => {
    const before = previous[metric];
    const now = current[metric];
    const change = before === 0 ? (now === 0 ? '0.0%' : 'new') : `${now >= before ? '+' : ''}${(((now - before) / before) * 100).toFixed(1)}%`;
    return [metric, before.toLocaleString('en-US'), now.toLocaleString('en-US'), change];
  });
  const header = ['kpi', previousDate, date, 'change'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('   ');
  return [line(header), ...rows.map(line)].join('\n');
}

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'the demo: seed events if the warehouse is empty, build yesterday and today, print the KPIs',
    usage: 'kpis start [--warehouse SPEC] [--json]',
    details: 'What `npm start` runs. Seeds the demo events only into an empty source table, never over your own.',
    options: {},
    async run(values, _positionals, io) {
      return withRuntime(values, io, async (runtime) => {
        const report = await quickStart(runtime, runtime.job, { today: today(runtime.clock), runId: runtime.newRunId(), username: runtime.username });
        const { etl } = report;
        if (values.json) printJson(io, report);
        else if (etl.status === 'failed') io.stderr(`ETL failed (run ${etl.run_id}): ${etl.error}\n`);
        else {
          if (report.seeded_events > 0) {
            io.stdout(`Seeded ${report.seeded_events.toLocaleString('en-US')} demo events for ${etl.start_date}..${etl.end_date} (${describeWarehouse(runtime.spec)}).\n`);
          }
          io.stdout(`ETL succeeded (run ${etl.run_id}): ${etl.tables.join(', ')} for ${etl.start_date}..${etl.end_date}.\n\n`);
          const { date = '', previous_date: previousDate = '', kpis, previous_kpis: previousKpis } = report;
          if (kpis && previousKpis) io.stdout(`KPIs of ${date}, the last complete day (UTC):\n\n${summaryTable(previousDate, date, previousKpis, kpis)}\n`);
          if (kpis?.dau === 0) io.stdout(`\nNo events on ${date}. Load some with \`kpis load-events FILE\`, or reseed with \`kpis seed-demo --replace\`.\n`);
        }
        return etl.status === 'succeeded' ? 0 : 1;
      });
    },
  },
  etl: {
    summary: 'build the KPI tables for a day or a range of days',
    usage: 'kpis etl [--date D | --days-back N | --from D --to D] [--kpis a,b] [--dry-run] [--json]',
    details: `${DATE_HELP}
  --kpis a,b         only these tables (default: every enabled one in the config)
  --dry-run          validate and estimate without writing; the SQL goes to .data/sql/`,
    options: { ...DATE_OPTIONS, kpis: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    run(values, _positionals, io) {
      // Flags are checked before the warehouse is opened, so a typo costs nothing.
      const range = dateRangeFrom(values, today(clockFrom(io.env)));
      return withRuntime(values, io, (runtime) => etlCommand(values, io, runtime, range));
    },
  },
  'load-events': {
    summary: 'append a CSV, JSON-lines or Parquet file of events to the source table',
    usage: 'kpis load-events FILE [--format csv|jsonl|parquet] [--table DATASET.TABLE] [--json]',
    details: `Columns: user_id (text, required), time (timestamp, required; no zone means UTC),
event_name (text), coins_added (whole number). CSV needs a header line. Every value is checked
first: a malformed file fails with its line and column, and nothing is loaded.
  --format F         csv, jsonl or parquet (default: from the extension)
  --table D.T        the source table (default: the one the config reads)`,
    options: { format: { type: 'string' }, table: { type: 'string' } },
    async run(values, positionals, io) {
      if (positionals.length !== 1) throw new UsageError(`load-events takes one FILE, got ${positionals.length}`);
      const format = values.format as string | undefined;
      if (format !== undefined && !EVENT_FORMATS.includes(format as EventFormat)) {
        throw new UsageError(`--format must be one of ${EVENT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
      }
      return withRuntime(values, io, async (runtime) => {
        const table = configuredSource(runtime.job, values.table as string | undefined);
        const file = positionals[0] as string;
        const result = await loadEvents(runtime.warehouse, table, file, { job: runtime.job.jobName, runId: runtime.newRunId() }, format as EventFormat | undefined);
        if (values.json) printJson(io, result);
        else io.stdout(`Loaded ${result.rows.toLocaleString('en-US')} events from ${file} into ${result.table} (${describeWarehouse(runtime.spec)}).\n`);
        return 0;
      });
    },
  },
  'seed-demo': {
    summary: 'generate deterministic synthetic game events into the source table',
    usage: 'kpis seed-demo [--days N] [--replace] [--json]',
    details: `Weekly rhythm, steady growth, and an install spike on the latest complete day.
  --days N           days of history ending today (default ${DEMO_DAYS})
  --replace          delete the source table's events first (it refuses to add to existing ones)`,
    options: { days: { type: 'string' }, replace: { type: 'boolean' } },
    async run(values, _positionals, io) {
      const days = values.days === undefined ? DEMO_DAYS : Number(values.days);
      if (!Number.isInteger(days) || days < 2 || days > 3660) throw new UsageError(`--days must be a whole number from 2 to 3660, got ${JSON.stringify(values.days)}`);
      return withRuntime(values, io, async (runtime) => {
        const result = await seedDemo(
          runtime.warehouse,
          configuredSource(runtime.job),
          { today: today(runtime.clock), now: runtime.clock(), days, whenNotEmpty: values.replace ? 'replace' : 'refuse' },
          { job: runtime.job.jobName, runId: runtime.newRunId() },
        );
        if (values.json) printJson(io, { ...result, days });
        else io.stdout(`Seeded ${result.rows.toLocaleString('en-US')} demo events for ${result.first_date}..${result.last_date} into ${result.table}.\n`);
        return 0;
      });
    },
  },
  init: {
    summary: 'create the datasets and tables (idempotent)',
    usage: 'kpis init [--warehouse SPEC] [--json]',
    details: 'Creates every dataset and table of the config and the run log, with partitioning, clustering\nand descriptions on BigQuery. Safe to run again.',
    options: {},
    async run(values, _positionals, io) {
      return withRuntime(values, io, async (runtime) => {
        const tables = await initWarehouse(runtime.warehouse, runtime.job);
        const names = tables.map((table) => `${table.dataset}.${table.table}`);
        if (values.json) printJson(io, { tables: names });
        else io.stdout(`Ready on ${describeWarehouse(runtime.spec)}: ${names.join(', ')}\n`);
        return 0;
      });
    },
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `kpis: daily product KPIs on BigQuery or an embedded DuckDB warehouse

Usage: kpis COMMAND [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}   ${command.summary}`)
  .join('\n')}

Run \`kpis COMMAND --help\` for a command's options.
${COMMON_HELP}
`;
}

function commandHelp(name: string, command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.\n${command.details}\n\n${COMMON_HELP}\n`;
}

/** Runs one command line and returns the exit code; never calls process.exit. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`kpis: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
    if (parsed.values.help) {
      io.stdout(commandHelp(name, command));
      return 0;
    }
    if (parsed.positionals.length > 0 && name !== 'load-events') {
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    }
    return await command.run(parsed.values as Values, parsed.positionals, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`kpis ${name}: ${error.message}\nRun \`kpis ${name} --help\` for usage.\n`);
      return 2;
    }
    const message = error instanceof KpisError ? error.message : (error as Error).stack ?? String(error);
    io.stderr(`kpis ${name}: ${message}\n`);
    return 1;
  }
}

/** The entry point of bin/kpis.js. */
export function cli(): void {
  const io: Io = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), env: process.env };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`kpis: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
