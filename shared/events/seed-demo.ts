/** `kpis seed-demo` and the first `kpis start`: the synthetic demo events into the source table. */
import { addDays, type IsoDate } from '../dates';
import { UsageError } from '../errors';
import type { TableSchema } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import { generateDemoEvents } from './demo';
import { appendEvents } from './load-events';

/** Eight weeks: enough weekly rhythm for the monitors' training windows. */
export const DEMO_DAYS = 56;

export interface SeedDemoOptions {
  today: IsoDate;
  now: Date;
  days?: number;
  /** What to do when the table already holds events: refuse (default), skip, or replace them. */
  whenNotEmpty?: 'refuse' | 'skip' | 'replace';
}

export interface SeedDemoResult {
  table: string;
  /** Events written; 0 when skipped. */
  rows: number;
  first_date: IsoDate;
  last_date: IsoDate;
}

function sourceSql(warehouse: Warehouse, table: TableSchema, file: string): string {
  return renderSqlFile(file, { source: warehouse.tableRef(table.dataset, table.table) });
}

export async function countEvents(warehouse: Warehouse, table: TableSchema, context: JobContext): Promise<number> {
  const [row] = await warehouse.query(
    sourceSql(warehouse, table, 'events/count_events.sql'),
    {},
    { ...context, sqlFile: 'events/count_events.sql' },
  );
  return Number(row?.events ?? 0);
}

export async function seedDemo(
  warehouse: Warehouse,
  table: TableSchema,
  options: SeedDemoOptions,
  context: JobContext,
): Promise<SeedDemoResult> {
  const days = options.days ?? DEMO_DAYS;
  const name = `${table.dataset}.${table.table}`;
  const result = { table: name, rows: 0, first_date: addDays(options.today, -(days - 1)), last_date: options.today };
  await warehouse.ensureTable(table);
  const existing = await countEvents(warehouse, table, context);
  if (existing > 0) {
    const whenNotEmpty = options.whenNotEmpty ?? 'refuse';
    if (whenNotEmpty === 'skip') return result;
    if (whenNotEmpty === 'refuse')
      throw new UsageError(`${name} already holds ${existing} events; add --replace to delete them and seed anew`);
    await warehouse.query(
      sourceSql(warehouse, table, 'events/delete_events.sql'),
      {},
      { ...context, sqlFile: 'events/delete_events.sql' },
    );
  }
  const rows = generateDemoEvents({ today: options.today, now: options.now, days });
  return { ...result, rows: await appendEvents(warehouse, table, rows, context) };
}
