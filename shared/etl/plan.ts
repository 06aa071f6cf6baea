/**
 * Turns the config and a date range into the ETL script: each selected table's query wrapped in
 * its strategy's statements (sql/etl/strategies/), dependencies first. Pure, so the rendered SQL
 * can be compared with golden files.
 */
import { configuredTables, orderByDependencies, type EtlJob, type TableDefinition } from '../config/etl-config';
import { tableQueryValues } from '../config/table-sql';
import { addDays, startOfDayIn, type DateRange, type IsoDate } from '../dates';
import { UsageError } from '../errors';
import { kpiTable, type TableSchema } from '../schema';
import { renderSqlFile, renderTemplate, splitStatements, suffixParams } from '../sql';
import type { QueryParams, Warehouse } from '../warehouse/warehouse';

export interface EtlPlan {
  /** Each table's statements, dependencies first. */
  statements: string[];
  params: QueryParams;
  /** Tables the run writes, in order. */
  targets: { name: string; table: TableSchema; sqlFile: string }[];
  /** Configured tables the targets read without writing them: they must exist, even empty. */
  reads: TableSchema[];
  /** Earlier days built again because their source changed (restate_days), as ranges, oldest first. */
  restated: DateRange[];
  /** Later days some tables are built again on, because they read a restated day (reach.ts), by table. */
  later: Map<string, DateRange[]>;
}

/** The range parameters a restated range gets under its own names (`@start_date_r1`, ...). */
const RANGE_PARAMS = ['start_date', 'end_date', 'start_ts', 'end_ts'] as const;

/**
 * The tables a run builds: the ones asked for, or every enabled one; in dependency order. A table
 * asked for alone reads the tables it depends on as they are, like dbt's --select.
 */
export function selectTables(job: EtlJob, requested?: string[]): TableDefinition[] {
  const names = job.tables.map((table) => table.name);
  if (requested === undefined || requested.length === 0)
    return orderByDependencies(
      job.tables.filter((table) => table.isEnable),
      job.file,
    );
  for (const name of requested) {
    const table = job.tables.find((t) => t.name === name);
    if (!table) throw new UsageError(`unknown KPI ${JSON.stringify(name)}; allowed: ${names.join(', ')}`);
    if (!table.isEnable) throw new UsageError(`KPI ${name} is disabled in the config (isEnable: false)`);
  }
  return orderByDependencies(
    job.tables.filter((table) => requested.includes(table.name)),
    job.file,
  );
}

/**
 * The parameters every table and check query may use: the run's days, the instants that bound
 * them (local midnights in the business zone, so a daylight-saving day spans 23 or 25 hours), and
 * the zone itself for `DATE(DATETIME(time, @time_zone))`.
 */
export function rangeParams(range: DateRange, timeZone: string): QueryParams {
  return {
    start_date: { type: 'DATE', value: range.start },
    end_date: { type: 'DATE', value: range.end },
    start_ts: { type: 'TIMESTAMP', value: startOfDayIn(range.start, timeZone) },
    end_ts: { type: 'TIMESTAMP', value: startOfDayIn(addDays(range.end, 1), timeZone) },
    time_zone: { type: 'STRING', value: timeZone },
  };
}

/** A table's query with its placeholders rendered for this engine. */
function renderTableQuery(warehouse: Pick<Warehouse, 'tableRef'>, job: EtlJob, table: TableDefinition): string {
  return renderTemplate(table.query, tableQueryValues(warehouse, table, configuredTables(job)), table.sqlLabel);
}

/** The statements that write a table from its query, by strategy. */
function strategyStatements(warehouse: Pick<Warehouse, 'tableRef'>, job: EtlJob, table: TableDefinition): string[] {
  const columns = table.columns.map((column) => column.name);
  const common = {
    name: table.name,
    strategy: table.strategy,
    target: warehouse.tableRef(table.dataset_dst, table.name),
    columns: columns.join(', '),
    query: renderTableQuery(warehouse, job, table),
  };
  if (table.strategy === 'replace_days') {
    return splitStatements(renderSqlFile('etl/strategies/replace_days.sql', { ...common, partition_column: table.partition_column as string }));
  }
  const earliest = table.strategy === 'keep_earliest';
  const dateColumn = table.date_column as string;
  return splitStatements(
    renderSqlFile('etl/strategies/keep_one.sql', {
      ...common,
      which: earliest ? 'earliest' : 'latest',
      direction: earliest ? 'an earlier' : 'a later',
      compare: earliest ? '<' : '>',
      date_column: dateColumn,
      order: earliest ? 'ASC' : 'DESC',
      key: table.key.join(', '),
      key_not_null: table.key.map((column) => `q.${column} IS NOT NULL`).join(' AND '),
      key_match: table.key.map((column) => `t.${column} = s.${column}`).join(' AND '),
      updates: columns
        .filter((column) => !table.key.includes(column))
        .map((column) => `${column} = s.${column}`)
        .join(', '),
      source_columns: columns.map((column) => `s.${column}`).join(', '),
    }),
  );
}

/**
 * The run's script: each restated range first (oldest first, its range parameters renamed
 * `@start_date_r1`, ...), then the later days of the tables that read a restated day (`laterDays`,
 * by table in dependency order, parameters `@start_date_l1`, ...), then the requested range. Every
 * restated range runs every table, dependencies first, so a restated day converges on what a run
 * of that day alone gives; a later range runs only its table, whose inputs are right by then.
 */
export function planEtl(
  warehouse: Pick<Warehouse, 'tableRef'>,
  job: EtlJob,
  tables: TableDefinition[],
  range: DateRange,
  restatedDays: readonly IsoDate[] = [],
  laterDays: ReadonlyMap<string, readonly IsoDate[]> = new Map(),
): EtlPlan {
  if (tables.length === 0) throw new UsageError('no KPI to build: every KPI is disabled in the config');
  const perTable = tables.map((table) => strategyStatements(warehouse, job, table));
  const statements = perTable.flat();
  const outside = (day: IsoDate) => day < range.start || day > range.end;
  const restated = contiguousRanges(restatedDays.filter(outside));
  const params: QueryParams = { ...rangeParams(range, job.timeZone) };
  const suffixed = (extra: DateRange, suffix: string, of: string[]): string[] => {
    const extraParams = rangeParams(extra, job.timeZone);
    for (const name of RANGE_PARAMS) params[`${name}_${suffix}`] = extraParams[name] as QueryParams[string];
    return of.map((statement) => suffixParams(statement, RANGE_PARAMS, suffix));
  };
  const restating = restated.flatMap((extra, index) => suffixed(extra, `r${index + 1}`, statements));
  // A range two tables share gets one suffix.
  const laterSuffixes = new Map<string, string>();
  const later = new Map<string, DateRange[]>();
  const rebuilding = tables.flatMap((table, index) => {
    const ranges = contiguousRanges((laterDays.get(table.name) ?? []).filter((day) => outside(day) && !restatedDays.includes(day)));
    if (ranges.length > 0) later.set(table.name, ranges);
    return ranges.flatMap((extra) => {
      const key = `${extra.start}..${extra.end}`;
      const suffix = laterSuffixes.get(key) ?? `l${laterSuffixes.size + 1}`;
      laterSuffixes.set(key, suffix);
      return suffixed(extra, suffix, perTable[index] as string[]);
    });
  });
  return {
    statements: [...restating, ...rebuilding, ...statements],
    params,
    targets: tables.map((table) => ({ name: table.name, table: kpiTable(table), sqlFile: table.sqlLabel })),
    reads: job.tables.filter((other) => !tables.includes(other) && tables.some((table) => table.reads.includes(other.name))).map(kpiTable),
    restated,
    later,
  };
}

/** Days as ranges of consecutive days, oldest first. */
export function contiguousRanges(days: readonly IsoDate[]): DateRange[] {
  const ranges: DateRange[] = [];
  for (const day of [...new Set(days)].sort()) {
    const last = ranges[ranges.length - 1];
    if (last && addDays(last.end, 1) === day) last.end = day;
    else ranges.push({ start: day, end: day });
  }
  return ranges;
}
