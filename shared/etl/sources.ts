/**
 * What `{{source}}` renders as, per source, found where a run is planned (it may read the
 * warehouse's catalog): the source table itself, or, when that table lacks a canonical column
 * added later (platform, country), a subquery that adds it as NULL, so a query reading it runs
 * unchanged on an older table. The subquery keeps every column of the table (`SELECT *`), so a
 * user's query reading a column of its own still runs; filters on `time` pass through it, so
 * BigQuery still prunes partitions and DuckDB still skips row groups.
 */
import type { TableDefinition } from '../config/etl-config';
import { OPTIONAL_SOURCE_COLUMNS, SOURCE_COLUMNS } from '../schema';
import { placeholders } from '../sql';
import type { Warehouse } from '../warehouse/warehouse';

/** `{{source}}`'s rendering by source name (sourceName): a source absent renders as its table. */
export type SourceSql = ReadonlyMap<string, string>;

/**
 * The warehouse's table names with each source named by its rendering: what the planner (plan.ts)
 * and tableQueryValues are given, so `{{source}}` (and a `{{dataset.table}}` naming the source)
 * reads the canonical columns. Only the planner's table names change; every other call goes to
 * the warehouse itself.
 */
export function readingSources(warehouse: Pick<Warehouse, 'tableRef'>, sources: SourceSql): Pick<Warehouse, 'tableRef'> {
  if (sources.size === 0) return warehouse;
  return { tableRef: (dataset, table) => sources.get(`${dataset}.${table}`) ?? warehouse.tableRef(dataset, table) };
}

/** The key of a table entry's source in a SourceSql. */
export function sourceName(table: Pick<TableDefinition, 'dataset_src' | 'table_src'>): string {
  return `${table.dataset_src}.${table.table_src}`;
}

/** The renderings of the sources `tables` read through `{{source}}` that are not the plain table. */
export async function sourceRenderings(warehouse: Pick<Warehouse, 'tableRef' | 'columnsOf'>, tables: TableDefinition[]): Promise<Map<string, string>> {
  const renderings = new Map<string, string>();
  for (const table of tables.filter((t) => placeholders(t.query).includes('source'))) {
    const name = sourceName(table);
    if (renderings.has(name)) continue;
    const columns = await warehouse.columnsOf(table.dataset_src, table.table_src);
    // A missing table stays its name: the run then fails naming it, as before.
    if (columns === null) continue;
    const has = new Set(columns.map((column) => column.name.toLowerCase()));
    const missing = SOURCE_COLUMNS.filter((column) => OPTIONAL_SOURCE_COLUMNS.includes(column.name) && !has.has(column.name));
    if (missing.length === 0) continue;
    const added = missing.map((column) => `CAST(NULL AS ${column.type}) AS ${column.name}`).join(', ');
    renderings.set(name, `(SELECT *, ${added} FROM ${warehouse.tableRef(table.dataset_src, table.table_src)})`);
  }
  return renderings;
}
