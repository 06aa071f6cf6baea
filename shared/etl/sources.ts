/**
 * What `{{source}}` renders as, per source, found where a run is planned (it may read the
 * warehouse's catalog), for a window of KPI days:
 * - a GA4 export source: its mapping to the canonical columns (sql/sources/ga4_export.sql) over
 *   the window's shards, in parentheses;
 * - a table that lacks a canonical column added later (platform, country): a subquery that adds
 *   it as NULL, so a query reading it runs unchanged on an older table. It keeps every column of
 *   the table (`SELECT *`), so a user's query reading a column of its own still runs, and filters
 *   on `time` pass through it: BigQuery still prunes partitions, DuckDB still skips row groups;
 * - else the table itself (nothing in the map).
 */
import type { TableDefinition } from '../config/etl-config';
import { addDays, type DateRange } from '../dates';
import { GA4_EVENT_FIELDS, GA4_PREFIX, shardRanges, type Ga4Source } from '../events/ga4-export';
import { OPTIONAL_SOURCE_COLUMNS, SOURCE_COLUMNS } from '../schema';
import { placeholders, renderSqlFile } from '../sql';
import type { Warehouse } from '../warehouse/warehouse';

/** `{{source}}`'s rendering by source name (sourceName): a source absent renders as its table. */
export type SourceSql = ReadonlyMap<string, string>;

/**
 * The warehouse's table names with each source named by its rendering: what the planner (plan.ts)
 * and tableQueryValues are given, so `{{source}}` (and a `{{dataset.table}}` naming the source)
 * reads the canonical columns. Only the planner's table names change; every other call goes to
 * the warehouse itself. A view of the port rather than a parameter of planEtl: the planner and
 * every caller of tableQueryValues stay as they are.
 */
export function readingSources(
  warehouse: Pick<Warehouse, 'tableRef'>,
  sources: SourceSql,
): Pick<Warehouse, 'tableRef'> {
  if (sources.size === 0) return warehouse;
  return { tableRef: (dataset, table) => sources.get(`${dataset}.${table}`) ?? warehouse.tableRef(dataset, table) };
}

/** The key of a table entry's source in a SourceSql. */
export function sourceName(table: Pick<TableDefinition, 'dataset_src' | 'table_src'>): string {
  return `${table.dataset_src}.${table.table_src}`;
}

type SourceWarehouse = Pick<Warehouse, 'tableRef' | 'columnsOf' | 'wildcardTable' | 'unnestAs'>;

/**
 * The renderings of the sources `tables` read through `{{source}}` that are not the plain table,
 * for a run over `window` (the requested days and any restated ones).
 */
export async function sourceRenderings(
  warehouse: SourceWarehouse,
  tables: TableDefinition[],
  window: DateRange,
): Promise<Map<string, string>> {
  const renderings = new Map<string, string>();
  const readers = tables.filter((t) => placeholders(t.query).includes('source'));
  for (const table of readers) {
    const name = sourceName(table);
    if (renderings.has(name)) continue;
    if (table.ga4) {
      renderings.set(name, await ga4Source(warehouse, table.ga4, readWindow(readers, window)));
      continue;
    }
    const columns = await warehouse.columnsOf(table.dataset_src, table.table_src);
    // A missing table stays its name: the run then fails naming it, as before.
    if (columns === null) continue;
    const has = new Set(columns.map((column) => column.name.toLowerCase()));
    const missing = SOURCE_COLUMNS.filter(
      (column) => OPTIONAL_SOURCE_COLUMNS.includes(column.name) && !has.has(column.name),
    );
    if (missing.length === 0) continue;
    const added = missing.map((column) => `CAST(NULL AS ${column.type}) AS ${column.name}`).join(', ');
    renderings.set(name, `(SELECT *, ${added} FROM ${warehouse.tableRef(table.dataset_src, table.table_src)})`);
  }
  return renderings;
}

/**
 * The days the source's readers may read: the window, and the days before and after it that one
 * says it reads (`reads_days_before` and `reads_days_after`: daily_sessions reads the evening
 * before and the first half hour after), so their shards are in the GA4 mapping. Tables that read
 * only KPI tables (a 30-day MAU) widen nothing.
 */
function readWindow(tables: TableDefinition[], window: DateRange): DateRange {
  const before = Math.max(0, ...tables.map((table) => table.readsDaysBefore));
  const after = Math.max(0, ...tables.map((table) => table.readsDaysAfter));
  return { start: addDays(window.start, -before), end: addDays(window.end, after) };
}

/** The GA4 export's mapping over the window's shards (sql/sources/ga4_export.sql), in parentheses, its comment lines left out. */
async function ga4Source(warehouse: SourceWarehouse, source: Ga4Source, window: DateRange): Promise<string> {
  const ranges = shardRanges(window);
  const [[first, last], [firstIntraday, lastIntraday]] = ranges as [[string, string], [string, string]];
  const literal = (text: string): string => `'${text}'`;
  const sql = renderSqlFile('sources/ga4_export.sql', {
    events: await warehouse.wildcardTable(source.dataset, GA4_PREFIX, ranges, GA4_EVENT_FIELDS),
    // Shard names and a checked parameter name (GA4_PARAM_NAME): constants BigQuery prunes by.
    first_shard: literal(first),
    last_shard: literal(last),
    first_intraday: literal(firstIntraday),
    last_intraday: literal(lastIntraday),
    user_key: source.user_key,
    value_param: source.value_param === null ? 'NULL' : literal(source.value_param),
    params: warehouse.unnestAs('event_params', 'p'),
  });
  const body = sql
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n');
  return `(\n${body}\n)`;
}
