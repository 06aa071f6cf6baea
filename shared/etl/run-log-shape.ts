/**
 * The run log's column types in this warehouse. daily-kpis creates `logs.daily_logs` with `ts`
 * TIMESTAMP and `dt` DATE; the cron job it replaces had pandas create it with `ts` DATETIME (naive
 * UTC) and `dt` STRING ('YYYY-MM-DD'). Both are read and written in their own types, so the old
 * scripts and the functions can share the table while a team moves over; any other shape stops a
 * run before anything is written, naming each column and the command that converts the table.
 */
import { ConfigError } from '../errors';
import { RUN_LOG_TABLE } from '../schema';
import type { ColumnInfo, Warehouse } from '../warehouse/warehouse';

export type RunLogShapeKind = 'daily-kpis' | 'pandas';

export interface RunLogShape {
  kind: RunLogShapeKind;
  /** SQL that reads a column in daily-kpis' type (`ts` as TIMESTAMP, `dt` as DATE). */
  read: Record<string, string>;
  /** SQL that writes a parameter (typed as daily-kpis' column) into the table's column. */
  write: (column: string, ref: string) => string;
  /** The table's columns with a type other than daily-kpis' own: what `kpis migrate-run-log` casts. */
  converted: string[];
}

/** The cron job's types for the two columns pandas typed otherwise; DuckDB reports DATETIME as TIMESTAMP. */
const PANDAS_TYPES: Record<string, string> = { ts: 'DATETIME', dt: 'STRING' };

export const DAILY_KPIS_SHAPE: RunLogShape = {
  kind: 'daily-kpis',
  read: Object.fromEntries(RUN_LOG_TABLE.columns.map((column) => [column.name, column.name])),
  write: (_column, ref) => ref,
  converted: [],
};

/**
 * The shape of existing columns (null: no table yet, daily-kpis' shape will be created). Throws a
 * ConfigError naming every column that fits neither shape.
 */
export function shapeOf(columns: ColumnInfo[] | null): RunLogShape {
  if (columns === null) return DAILY_KPIS_SHAPE;
  const types = new Map(columns.map((column) => [column.name, column.type]));
  const problems: string[] = [];
  const converted: string[] = [];
  for (const column of RUN_LOG_TABLE.columns) {
    const type = types.get(column.name);
    if (type === undefined) problems.push(`${column.name} is missing (expected ${column.type})`);
    else if (type === PANDAS_TYPES[column.name]) converted.push(column.name);
    else if (type !== column.type)
      problems.push(
        `${column.name} is ${type} (expected ${column.type}${PANDAS_TYPES[column.name] ? `, or ${PANDAS_TYPES[column.name]} as the cron job's pandas wrote it` : ''})`,
      );
  }
  const table = `${RUN_LOG_TABLE.dataset}.${RUN_LOG_TABLE.table}`;
  if (problems.length > 0) {
    throw new ConfigError(
      `the run log ${table} has columns daily-kpis cannot read or write:\n  ${problems.join('\n  ')}\nConvert the table with \`kpis migrate-run-log\` (\`--dry-run\` prints the SQL first), or point daily-kpis at a warehouse whose run log it created.`,
    );
  }
  if (converted.length === 0) return DAILY_KPIS_SHAPE;
  return {
    kind: 'pandas',
    read: {
      ...DAILY_KPIS_SHAPE.read,
      ...Object.fromEntries(converted.map((name) => [name, `CAST(${name} AS ${columnType(name)})`])),
    },
    write: (column, ref) => (converted.includes(column) ? `CAST(${ref} AS ${PANDAS_TYPES[column]})` : ref),
    converted,
  };
}

function columnType(name: string): string {
  return RUN_LOG_TABLE.columns.find((column) => column.name === name)?.type as string;
}

const shapes = new WeakMap<object, RunLogShape>();

/** The run log's shape in this warehouse, read once per warehouse (a missing table is read again next time). */
export async function runLogShape(warehouse: Pick<Warehouse, 'columnsOf'>): Promise<RunLogShape> {
  const known = shapes.get(warehouse);
  if (known) return known;
  const columns = await warehouse.columnsOf(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table);
  const shape = shapeOf(columns);
  if (columns !== null) shapes.set(warehouse, shape);
  return shape;
}

/** Forgets what was read: the table was created, dropped or converted since. */
export function forgetRunLogShape(warehouse: object): void {
  shapes.delete(warehouse);
}

/** The run log's placeholders for a SQL template: the table, and `ts`/`dt` read as TIMESTAMP/DATE. */
export function runLogValues(warehouse: Pick<Warehouse, 'tableRef'>, shape: RunLogShape): Record<string, string> {
  return {
    daily_logs: warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
    ts: shape.read.ts as string,
    dt: shape.read.dt as string,
  };
}
