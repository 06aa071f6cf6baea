/**
 * `kpis load-events`: appends a checked event file to the source table, creating it if missing,
 * in constant memory whatever the file's size. In order:
 * 1. the file's SHA-256, read as it streams: a file of the same content loaded before is refused;
 * 2. Parquet goes to the engine as it is (typed already);
 * 3. a CSV with a plain header goes to the engine's own reader, which takes it when every row is
 *    plainly valid (DuckDB reads it at its own speed);
 * 4. anything else, or a CSV the engine did not take, is checked here as it streams, each problem
 *    named by line and column, and its rows handed to the warehouse in batches, all or none.
 */
import { runLogValues, type RunLogShape } from '../etl/run-log-shape';
import { ga4SourceOf, type EtlJob } from '../config/etl-config';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { InputFileError, UsageError } from '../errors';
import { ensureRunLog, writeRunLog } from '../etl/run-log';
import { renderSqlFile } from '../sql';
import { OPTIONAL_SOURCE_COLUMNS, SOURCE_COLUMNS, sourceTable, type TableSchema } from '../schema';
import { placeholders } from '../sql';
import { timestampMicros } from '../timestamps';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { detectFormat, MAX_LINE_LENGTH, MAX_TEXT_LENGTH, readEventBatches, type EventFormat } from './parse-events';

/** The source table the config's KPIs read; `override` is 'dataset.table'. */
export function configuredSource(job: EtlJob, override?: string): TableSchema {
  if (override !== undefined) {
    const match = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(override);
    if (!match) throw new UsageError(`--table must be DATASET.TABLE, got ${JSON.stringify(override)}`);
    return sourceTable(match[1] as string, match[2] as string);
  }
  const ga4 = ga4SourceOf(job);
  if (ga4)
    throw new UsageError(
      `the config's source is the GA4 export (dataset ${ga4.dataset}): load or seed it with --format ga4_export, or name a table with --table DATASET.TABLE`,
    );
  // The tables whose SQL reads {{source}}: a table built only from other KPI tables reads none.
  const sources = new Set(
    job.tables
      .filter((table) => placeholders(table.query).includes('source'))
      .map((table) => `${table.dataset_src}.${table.table_src}`),
  );
  if (sources.size !== 1)
    throw new UsageError(
      `the config reads ${sources.size} source tables (${[...sources].join(', ')}); name one with --table DATASET.TABLE`,
    );
  return configuredSource(job, [...sources][0]);
}

/**
 * The source table with the columns it has: one made before platform and country existed is
 * loaded without them (`ALTER TABLE ... ADD COLUMN platform STRING` keeps them), and its
 * `{{source}}` shows them as NULL (shared/etl/sources.ts).
 */
export async function sourceAsItIs(warehouse: Pick<Warehouse, 'columnsOf'>, table: TableSchema): Promise<TableSchema> {
  const existing = await warehouse.columnsOf(table.dataset, table.table);
  if (existing === null) return table;
  const names = new Set(existing.map((column) => column.name));
  return {
    ...table,
    columns: table.columns.filter((column) => names.has(column.name) || !OPTIONAL_SOURCE_COLUMNS.includes(column.name)),
  };
}

/** Creates the source table if needed, then appends rows in time order (DuckDB prunes by it). */
export async function appendEvents(
  warehouse: Warehouse,
  wanted: TableSchema,
  rows: Row[],
  context: JobContext,
): Promise<number> {
  await warehouse.ensureTable(wanted);
  const table = await sourceAsItIs(warehouse, wanted);
  const keyed = rows.map((row) => ({ row, key: timestampMicros(row.time as Date | string) }));
  const sorted = keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ row }) => row);
  return warehouse.appendRows(table, sorted, context);
}

export interface LoadEventsResult {
  file: string;
  format: EventFormat;
  table: string;
  rows: number;
  /** The file's SHA-256: a file of the same content is refused the next time, unless forced. */
  sha256: string;
}

/** The run log's job for loads: a `loaded` row per file records its content's hash. */
export const LOAD_EVENTS_JOB = 'load_events';

export interface LoadEventsOptions {
  format?: EventFormat;
  /** Load a file whose content was loaded into the table before (its events are appended again). */
  force?: boolean;
  username?: string;
  clock?: () => Date;
}

/**
 * Appends a checked event file to the source table. A file of the same content loaded before into
 * the same table is refused (appending it again would count its events twice), unless `force`.
 */
export async function loadEvents(
  warehouse: Warehouse,
  table: TableSchema,
  file: string,
  context: JobContext,
  options: LoadEventsOptions = {},
): Promise<LoadEventsResult> {
  const format = options.format ?? detectFormat(file);
  const tableName = `${table.dataset}.${table.table}`;
  const sha256 = await fileSha256(file);
  const message = `sha256:${sha256} into ${tableName}`;
  const shape = await ensureRunLog(warehouse);
  if (!options.force) await refuseLoadedBefore(warehouse, shape, { file, tableName, message }, context);
  await warehouse.ensureTable(table);
  const rows = await appendFile(warehouse, await sourceAsItIs(warehouse, table), file, format, context);
  // After the load: a crash in between leaves the file unrecorded, so a retry loads it again.
  const identity = {
    runId: context.runId,
    jobName: LOAD_EVENTS_JOB,
    jobType: 'load',
    username: options.username ?? 'cli',
  };
  await writeRunLog(warehouse, identity, [
    {
      step: 'loaded',
      logType: 'end',
      at: (options.clock ?? (() => new Date()))(),
      fileName: path.basename(file),
      message,
    },
  ]);
  return { file, format, table: tableName, rows, sha256 };
}

/** A file of the same content loaded before into the table (the run log's `message` names both) is refused: appending it again would count its events twice. */
async function refuseLoadedBefore(
  warehouse: Warehouse,
  shape: RunLogShape,
  load: { file: string; tableName: string; message: string },
  context: JobContext,
): Promise<void> {
  const { file, tableName, message } = load;
  const sql = renderSqlFile('logs/loaded_file.sql', runLogValues(warehouse, shape));
  const [row] = await warehouse.query(
    sql,
    { job_name: { type: 'STRING', value: LOAD_EVENTS_JOB }, message: { type: 'STRING', value: message } },
    { ...context, sqlFile: 'logs/loaded_file.sql' },
  );
  if (row?.loaded_at) {
    throw new UsageError(
      `${file}: a file with the same content was loaded into ${tableName} on ${String(row.loaded_at)}; loading it again would count its events twice (use --force to load it anyway)`,
    );
  }
}

async function appendFile(
  warehouse: Warehouse,
  table: TableSchema,
  file: string,
  format: EventFormat,
  context: JobContext,
): Promise<number> {
  if (format === 'parquet') return warehouse.appendParquet(table, file, context, MAX_TEXT_LENGTH);
  const header = format === 'csv' ? await plainCsvHeader(file) : undefined;
  const taken = header ? await warehouse.appendCsvFile(table, file, header, MAX_TEXT_LENGTH, context) : null;
  return taken ?? warehouse.appendBatches(table, readEventBatches(file, format), context);
}

/**
 * The column names of a CSV header the engine can read as it is: unquoted, each a known column
 * once, the required ones there. Else undefined: the file is checked here, which names what is
 * wrong with its header.
 */
async function plainCsvHeader(file: string): Promise<string[] | undefined> {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(MAX_LINE_LENGTH), 0, MAX_LINE_LENGTH, 0);
    const text = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    const end = text.indexOf('\n');
    if (end === -1 || text.slice(0, end).includes('"')) return undefined;
    const names = text
      .slice(0, end)
      .replace(/\r$/, '')
      .split(',')
      .map((name) => name.trim());
    const known = SOURCE_COLUMNS.map((column) => column.name);
    const plain =
      names.every((name) => known.includes(name)) &&
      new Set(names).size === names.length &&
      SOURCE_COLUMNS.every((column) => !column.required || names.includes(column.name));
    return plain ? names : undefined;
  } finally {
    await handle.close();
  }
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new InputFileError(
      `${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  return hash.digest('hex');
}
