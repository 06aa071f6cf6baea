/**
 * Turns the config and a date range into the ETL script: each selected table's query wrapped in
 * its strategy's statements (sql/etl/strategies/), dependencies first. Pure, so the rendered SQL
 * can be compared with golden files.
 */
import { configuredTables, orderByDependencies, type EtlJob, type TableDefinition } from '../config/etl-config';
import { rangeParams, tableQueryValues } from '../config/table-sql';
import { addDays, type DateRange, type IsoDate } from '../dates';
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
  /**
   * The tables built again on later days because they read a restated day (reach.ts), with the
   * one wide range each runs over instead (oldest restated day to the range's end).
   */
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
    return splitStatements(
      renderSqlFile('etl/strategies/replace_days.sql', {
        ...common,
        partition_column: table.partition_column as string,
      }),
    );
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
 * `@start_date_r1`, ...), then the requested range, every table dependencies first, so a restated
 * day converges on what a run of that day alone gives. A table with other days to rebuild
 * (`laterDays`: it reads a restated day, from a later or an earlier day; reach.ts) leaves the
 * restated ranges and runs once, in the requested range's place, over one wide range from the
 * oldest restated or reached day to the range's end (`@start_date_l1`, ...): its inputs are
 * final by then, and one run over the days reads its window (30 days of the panel) once, not
 * once per day.
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
  const outside = (day: IsoDate) => day < range.start || day > range.end;
  const restated = contiguousRanges(restatedDays.filter(outside));
  const params: QueryParams = { ...rangeParams(range, job.timeZone) };
  const suffixed = (extra: DateRange, suffix: string, of: string[]): string[] => {
    const extraParams = rangeParams(extra, job.timeZone);
    for (const name of RANGE_PARAMS) params[`${name}_${suffix}`] = extraParams[name] as QueryParams[string];
    return of.map((statement) => suffixParams(statement, RANGE_PARAMS, suffix));
  };
  const { widened, wide } = wideRange(tables, laterDays, restated, range);
  const narrow = perTable.filter((_, index) => !widened.has((tables[index] as TableDefinition).name)).flat();
  const restating = restated.flatMap((extra, index) => suffixed(extra, `r${index + 1}`, narrow));
  const requested = perTable.flatMap((statements, index) =>
    wide && widened.has((tables[index] as TableDefinition).name) ? suffixed(wide, 'l1', statements) : statements,
  );
  return {
    statements: [...restating, ...requested],
    params,
    targets: tables.map((table) => ({ name: table.name, table: kpiTable(table), sqlFile: table.sqlLabel })),
    reads: job.tables
      .filter((other) => !tables.includes(other) && tables.some((table) => table.reads.includes(other.name)))
      .map(kpiTable),
    restated,
    later: new Map(wide ? [...widened].map((name) => [name, [wide]]) : []),
  };
}

/**
 * The tables that reach other days than their own, and the one wide range they run over: from the
 * oldest restated or reached day to the range's end (null when none does). A table that reaches
 * other days reaches from there: every table reading it does too (reach.ts).
 */
function wideRange(
  tables: TableDefinition[],
  laterDays: ReadonlyMap<string, readonly IsoDate[]>,
  restated: DateRange[],
  range: DateRange,
): { widened: Set<string>; wide: DateRange | null } {
  const outside = (day: IsoDate) => day < range.start || day > range.end;
  const widened = new Set(
    tables.filter((table) => (laterDays.get(table.name) ?? []).some(outside)).map((table) => table.name),
  );
  const reached = [...widened].flatMap((name) => laterDays.get(name) ?? []).filter(outside);
  const wide =
    widened.size > 0
      ? { start: [...restated.map((extra) => extra.start), ...reached].sort()[0] as IsoDate, end: range.end }
      : null;
  return { widened, wide };
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
