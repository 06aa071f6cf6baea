/**
 * The Google Analytics (Firebase) export on the embedded warehouse: `kpis load-events --format
 * ga4_export FILE` loads a file as `bq extract` writes a shard (newline-delimited JSON, nested)
 * into the export's per-day tables, and `kpis seed-demo --format ga4_export` writes the demo's
 * events in the export's shape. The file's name says its shard (`events_20261130.json`,
 * `events_intraday_20261130.json`, as `bq extract` names it); else each event goes to the final
 * shard of its `event_date`. A shard loaded again is replaced, as the export rewrites a day: so a
 * file is checked line by line first, and one the mapping cannot read (an event without
 * event_timestamp or a user), or one without events, replaces nothing.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { ga4SourceOf, type EtlJob } from '../config/etl-config';
import { addDays, dayIn, type IsoDate } from '../dates';
import { InputFileError, TableNotFoundError, UsageError } from '../errors';
import { renderSqlFile } from '../sql';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { generateDemoEvents } from './demo';
import { GA4_EVENT_FIELDS, GA4_PREFIX, type Ga4Source } from './ga4-export';
import { fieldColumn, FileProblems, jsonObjectLine, shown, splitLines } from './parse-events';
import { DEMO_DAYS } from './seed-demo';

/** A shard's table name at the start of a file's name. */
const SHARD_FILE = /^(events_(?:intraday_)?\d{8})(?![0-9])/;

export interface LoadGa4Result {
  file: string;
  format: 'ga4_export';
  dataset: string;
  /** Rows written per shard table, in name order. */
  tables: { table: string; rows: number }[];
  rows: number;
}

/** The GA4 export source of the config: what `--format ga4_export` loads into. */
export function configuredGa4(job: EtlJob): Ga4Source {
  const source = ga4SourceOf(job);
  if (!source) {
    throw new UsageError(
      `${job.file}: the config's source is not the GA4 export; add "source": {"format": "ga4_export", "dataset": "analytics_123456789"} to the job group ${job.jobName} (README "From the Firebase / Google Analytics export")`,
    );
  }
  return source;
}

export interface LoadGa4Options {
  /** Load a file without events over the shard it names (the export rewrote the day as empty). */
  force?: boolean;
  /** The job the shard's row count is read under (an empty file's refusal says what it would replace). */
  context?: JobContext;
}

/**
 * Loads one export file into its shard, or into the final shards of its events' days. Each line is
 * checked first (checkExportLines): a shard is replaced whole, so a file the mapping cannot read,
 * or one without events, would wipe a day that was there.
 */
export async function loadGa4Export(
  warehouse: Warehouse,
  dataset: string,
  file: string,
  options: LoadGa4Options = {},
): Promise<LoadGa4Result> {
  const shard = SHARD_FILE.exec(path.basename(file))?.[1];
  const events = await checkExportLines(file, shard === undefined);
  if (events === 0) await refuseEmptyFile(warehouse, { dataset, file, shard }, options);
  const into = shard !== undefined ? { table: shard } : { prefix: GA4_PREFIX, by: 'event_date', pattern: '[0-9]{8}' };
  const counts = await warehouse.replaceFromJsonLines(dataset, file, GA4_EVENT_FIELDS, into);
  const tables = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([table, rows]) => ({ table, rows }));
  return { file, format: 'ga4_export', dataset, tables, rows: tables.reduce((sum, { rows }) => sum + rows, 0) };
}

/** DuckDB's read_json refuses a longer object (its maximum_object_size): the line checks hold no more either. */
const MAX_EXPORT_LINE = 16 * 1024 * 1024;
/** An event's day as the export writes it; a file not named after a shard goes by it. */
const EVENT_DATE = /^[0-9]{8}$/;
/** INT64 as `bq extract` writes it (text) or as a number: BIGINT's range, whole. */
const WHOLE_NUMBER = /^-?[0-9]{1,18}$/;
const NO_SHARD = "the file's name names no shard, so each event goes to its event_date's";

/**
 * Each line of an export file checked as it streams (the same contract as the other event
 * formats: problems with line and column, nothing loaded); returns how many events it holds.
 */
async function checkExportLines(file: string, byEventDate: boolean): Promise<number> {
  const problems = new FileProblems(file);
  let events = 0;
  for await (const { text, line, cut } of splitLines(file, MAX_EXPORT_LINE)) {
    if (text.trim() !== '' || cut) events += 1;
    if (cut) problems.add(line, MAX_EXPORT_LINE, `the line is longer than ${MAX_EXPORT_LINE} bytes`);
    const record = cut ? undefined : jsonObjectLine(text, line, problems);
    if (record === undefined) continue;
    const where = fieldColumn(text);
    for (const { field, message } of exportEventProblems(record, byEventDate))
      problems.add(line, where(field), message);
  }
  problems.check();
  return events;
}

/** What the mapping needs of an event: its time, a user, and (routed by it) its day; each problem at its field. */
function exportEventProblems(
  record: Record<string, unknown>,
  byEventDate: boolean,
): { field: string; message: string }[] {
  const value = (name: string): unknown => (Object.hasOwn(record, name) ? record[name] : undefined);
  const missing = (name: string): boolean => [undefined, null, ''].includes(value(name) as string | null | undefined);
  const found = [timeProblem(value('event_timestamp'), missing('event_timestamp'))];
  if (missing('user_pseudo_id') && missing('user_id'))
    found.push({ field: 'user_pseudo_id', message: 'user_pseudo_id or user_id is required' });
  if (byEventDate) found.push(dayProblem(value('event_date')));
  return found.filter((problem): problem is { field: string; message: string } => problem !== undefined);
}

function timeProblem(time: unknown, missing: boolean): { field: string; message: string } | undefined {
  if (missing) return { field: 'event_timestamp', message: 'event_timestamp: is required' };
  if (typeof time === 'number' ? Number.isSafeInteger(time) : typeof time === 'string' && WHOLE_NUMBER.test(time))
    return undefined;
  return {
    field: 'event_timestamp',
    message: `event_timestamp: expected a whole number of microseconds since 1970, got ${shown(time)}`,
  };
}

function dayProblem(day: unknown): { field: string; message: string } | undefined {
  if (day === undefined) return { field: 'event_date', message: `event_date: is required (${NO_SHARD})` };
  if (typeof day === 'string' && EVENT_DATE.test(day)) return undefined;
  return { field: 'event_date', message: `event_date: expected YYYYMMDD (${NO_SHARD}), got ${shown(day)}` };
}

/**
 * A file without events loads nothing unless forced, and then only over the shard it names: as a
 * replacement it would empty the day. The refusal says how many rows the shard holds.
 */
async function refuseEmptyFile(
  warehouse: Warehouse,
  load: { dataset: string; file: string; shard: string | undefined },
  options: LoadGa4Options,
): Promise<void> {
  const { dataset, file, shard } = load;
  if (shard === undefined) throw new InputFileError(`no events in ${file}: nothing loaded`);
  if (options.force) return;
  if ((await warehouse.columnsOf(dataset, shard)) === null)
    throw new InputFileError(`no events in ${file}: nothing loaded (--force creates an empty shard ${shard})`);
  const context = {
    ...(options.context ?? { job: 'load-events', runId: randomUUID() }),
    sqlFile: 'events/count_events.sql',
  };
  const [row] = await warehouse.query(
    renderSqlFile('events/count_events.sql', { source: warehouse.tableRef(dataset, shard) }),
    {},
    context,
  );
  const rows = Number(row?.events ?? 0).toLocaleString('en-US');
  throw new InputFileError(
    `no events in ${file}: it would replace shard ${shard} holding ${rows} rows; nothing loaded (--force empties the shard)`,
  );
}

/** A demo event in the export's shape: the property's zone is UTC here, the coins in `param`. */
function exportEvent(row: Row, param: string): Record<string, unknown> {
  const time = row.time as Date;
  const coins = row.coins_added as number | null;
  return {
    event_date: dayIn(time, 'UTC').replaceAll('-', ''),
    event_timestamp: String(time.getTime() * 1000),
    event_name: row.event_name,
    event_params: [
      { key: 'ga_session_id', value: { int_value: '1' } },
      ...(coins === null ? [] : [{ key: param, value: { int_value: String(coins) } }]),
    ],
    user_pseudo_id: row.user_id,
    user_id: null,
    platform: row.platform,
    geo: { country: row.country },
  };
}

export interface SeedGa4Options {
  today: IsoDate;
  now: Date;
  days?: number;
  replace?: boolean;
}

/**
 * The demo's events as an export: final shards up to yesterday and today's as an intraday shard,
 * as the export stands during a day. Refuses a dataset that already holds shards, unless replace.
 */
export async function seedGa4Demo(
  warehouse: Warehouse,
  source: Ga4Source,
  options: SeedGa4Options,
): Promise<LoadGa4Result & { first_date: IsoDate; last_date: IsoDate }> {
  const days = options.days ?? DEMO_DAYS;
  if ((await holdsExportTables(warehouse, source)) && !options.replace) {
    throw new UsageError(
      `${source.dataset} already holds export tables (${GA4_PREFIX}...); add --replace to write the demo's days over them`,
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-ga4-demo-'));
  try {
    const { final, intraday, today } = await writeDemoExport(dir, source, { ...options, days });
    // Before the day's first event (now is just past midnight) there is no intraday shard yet.
    const loaded = [
      await loadGa4Export(warehouse, source.dataset, final),
      ...(today > 0 ? [await loadGa4Export(warehouse, source.dataset, intraday)] : []),
    ];
    const tables = loaded.flatMap((result) => result.tables);
    const result = {
      file: dir,
      format: 'ga4_export' as const,
      dataset: source.dataset,
      tables,
      rows: tables.reduce((sum, { rows }) => sum + rows, 0),
    };
    return { ...result, first_date: addDays(options.today, -(days - 1)), last_date: options.today };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the source's dataset already holds export shards (events_*). */
export function holdsExportTables(warehouse: Warehouse, source: Ga4Source): Promise<boolean> {
  return warehouse.wildcardTable(source.dataset, GA4_PREFIX, [], GA4_EVENT_FIELDS).then(
    () => true,
    (error: unknown) => {
      if (error instanceof TableNotFoundError) return false;
      throw error;
    },
  );
}

/** The demo's events written into `dir` as export lines: today's into an intraday file, the rest into one file; `today` counts today's events. */
async function writeDemoExport(
  dir: string,
  source: Ga4Source,
  options: SeedGa4Options & { days: number },
): Promise<{ final: string; intraday: string; today: number }> {
  const final = path.join(dir, 'events.json');
  const intraday = path.join(dir, `events_intraday_${options.today.replaceAll('-', '')}.json`);
  const outs = { final: createWriteStream(final), intraday: createWriteStream(intraday) };
  let today = 0;
  for (const row of generateDemoEvents({ today: options.today, now: options.now, days: options.days })) {
    const isToday = dayIn(row.time as Date, 'UTC') === options.today;
    today += isToday ? 1 : 0;
    const out = isToday ? outs.intraday : outs.final;
    if (!out.write(`${JSON.stringify(exportEvent(row, source.value_param ?? 'coins'))}\n`)) await once(out, 'drain');
  }
  for (const out of [outs.final, outs.intraday]) {
    out.end();
    await finished(out);
  }
  return { final, intraday, today };
}
