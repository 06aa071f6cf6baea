/** `kpis load-events`: appends a checked event file to the source table, creating it if missing. */
import type { EtlJob } from '../config/etl-config';
import { UsageError } from '../errors';
import { sourceTable, type TableSchema } from '../schema';
import { placeholders } from '../sql';
import { timestampMicros } from '../timestamps';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { detectFormat, readEventFile, type EventFormat } from './parse-events';

/** The source table the config's KPIs read; `override` is 'dataset.table'. */
export function configuredSource(job: EtlJob, override?: string): TableSchema {
  if (override !== undefined) {
    const match = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(override);
    if (!match) throw new UsageError(`--table must be DATASET.TABLE, got ${JSON.stringify(override)}`);
    return sourceTable(match[1] as string, match[2] as string);
  }
  // The tables whose SQL reads {{source}}: a table built only from other KPI tables reads none.
  const sources = new Set(job.tables.filter((table) => placeholders(table.query).includes('source')).map((table) => `${table.dataset_src}.${table.table_src}`));
  if (sources.size !== 1) throw new UsageError(`the config reads ${sources.size} source tables (${[...sources].join(', ')}); name one with --table DATASET.TABLE`);
  return configuredSource(job, [...sources][0]);
}

/** Creates the source table if needed, then appends rows in time order (DuckDB prunes by it). */
export async function appendEvents(warehouse: Warehouse, table: TableSchema, rows: Row[], context: JobContext): Promise<number> {
  await warehouse.ensureDataset(table.dataset);
  await warehouse.ensureTable(table);
  const keyed = rows.map((row) => ({ row, key: timestampMicros(row.time as Date | string) }));
  const sorted = keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ row }) => row);
  return warehouse.appendRows(table, sorted, context);
}

export interface LoadEventsResult {
  file: string;
  format: EventFormat;
  table: string;
  rows: number;
}

export async function loadEvents(
  warehouse: Warehouse,
  table: TableSchema,
  file: string,
  context: JobContext,
  format: EventFormat = detectFormat(file),
): Promise<LoadEventsResult> {
  let rows: number;
  if (format === 'parquet') {
    await warehouse.ensureDataset(table.dataset);
    await warehouse.ensureTable(table);
    rows = await warehouse.appendParquet(table, file, context);
  } else {
    rows = await appendEvents(warehouse, table, readEventFile(file, format), context);
  }
  return { file, format, table: `${table.dataset}.${table.table}`, rows };
}
