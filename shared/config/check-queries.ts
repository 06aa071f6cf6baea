/**
 * `kpis validate`: every table and check query checked on the warehouse it will run on, before a
 * run touches anything. Each query is described by the engine (DuckDB runs it limited to no rows,
 * BigQuery dry-runs it and says what it would read); its columns are compared with what the
 * config says it returns, and every problem names the config file, the entry, and the SQL file
 * with the line and column the engine pointed at.
 */
import { configuredTables, type EtlJob, type TableDefinition } from './etl-config';
import type { KpiCheck } from './kpi-checks';
import { readingSources, sourceRenderings } from '../etl/sources';
import { checkQueryValues, rangeParams, tableQueryValues, templatePosition } from './table-sql';
import { QueryError, toError, type SqlPosition } from '../errors';
import { kpiTable } from '../schema';
import { renderTemplate } from '../sql';
import type { JobContext, QueryParams, QueryShape, Warehouse } from '../warehouse/warehouse';

export interface QueryCheck {
  /** The config file and the JSON path of the entry. */
  file: string;
  entry: string;
  kind: 'table' | 'check';
  /** The SQL file as the config names it, or `the short form`. */
  sql: string;
  /** BigQuery's estimate of what the query reads over the empty window; null on DuckDB. */
  bytes_processed: number | null;
  problems: { position: SqlPosition | null; message: string }[];
}

/** Types a column of the given type accepts: an integer fits a FLOAT64 or NUMERIC column. */
const ACCEPTS: Record<string, string[]> = { FLOAT64: ['FLOAT64', 'INT64', 'NUMERIC'], NUMERIC: ['NUMERIC', 'INT64'] };
const NUMBER_TYPES = ['INT64', 'FLOAT64', 'NUMERIC'];
/** A window with no day in it: the queries read nothing. */
const EMPTY_WINDOW = { start: '2000-01-02', end: '2000-01-01' };

export async function checkQueries(
  warehouse: Warehouse,
  job: EtlJob,
  checks: { file: string; checks: KpiCheck[] },
  context: JobContext,
): Promise<QueryCheck[]> {
  // Queries may read the KPI tables: they must exist (empty is enough), as `kpis init` makes them.
  for (const table of job.tables) await warehouse.ensureTable(kpiTable(table));
  const results: QueryCheck[] = [];
  const window = rangeParams(EMPTY_WINDOW, job.timeZone);
  for (const table of job.tables) results.push(await checkTable(warehouse, job, table, window, context));
  for (const check of checks.checks) results.push(await checkCheck(warehouse, check, checks.file, window, context));
  return results;
}

async function checkTable(
  warehouse: Warehouse,
  job: EtlJob,
  table: TableDefinition,
  window: QueryParams,
  context: JobContext,
): Promise<QueryCheck> {
  // The source as a run reads it (a GA4 export's mapping, a canonical column an old table lacks).
  const reading = readingSources(warehouse, await sourceRenderings(warehouse, [table], EMPTY_WINDOW));
  const values = tableQueryValues(reading, table, configuredTables(job));
  const report: QueryCheck = {
    file: job.file,
    entry: `$.kpis.${table.name}`,
    kind: 'table',
    sql: table.sqlLabel,
    bytes_processed: null,
    problems: [],
  };
  const shape = await describe(warehouse, table.query, values, window, context, report);
  if (!shape) return report;
  const got = shape.columns;
  const expected = table.columns;
  const names = (columns: { name: string }[]) => columns.map((column) => column.name).join(', ');
  if (names(got) !== names(expected)) {
    report.problems.push({
      position: null,
      message: `returns the columns (${names(got)}) but its schema says (${names(expected)}), in that order`,
    });
    return report;
  }
  expected.forEach((column, index) => {
    const type = (got[index] as { type: string }).type;
    if (!(ACCEPTS[column.type] ?? [column.type]).includes(type))
      report.problems.push({
        position: null,
        message: `column ${column.name} is ${type}, but its schema says ${column.type}`,
      });
  });
  return report;
}

async function checkCheck(
  warehouse: Warehouse,
  check: KpiCheck,
  file: string,
  window: QueryParams,
  context: JobContext,
): Promise<QueryCheck> {
  const values = checkQueryValues(warehouse, check);
  const report: QueryCheck = {
    file,
    entry: `$.kpis.${check.name}`,
    kind: 'check',
    sql: check.sqlLabel,
    bytes_processed: null,
    problems: [],
  };
  const shape = await describe(warehouse, check.query, values, window, context, report);
  if (!shape) return report;
  for (const message of checkColumnProblems(shape.columns)) report.problems.push({ position: null, message });
  return report;
}

/** What is wrong with the columns a check's query returns: day, value (or numerator and denominator), optionally segment. */
function checkColumnProblems(columns: readonly { name: string; type: string }[]): string[] {
  const byName = new Map(columns.map((column) => [column.name, column.type]));
  // A ratio check returns numerator and denominator in place of value.
  const measures = byName.has('numerator') || byName.has('denominator') ? ['numerator', 'denominator'] : ['value'];
  const extra = columns.filter((column) => !['day', ...measures, 'segment'].includes(column.name));
  const problems: string[] = [];
  if (!byName.has('day') || measures.some((name) => !byName.has(name)) || extra.length > 0)
    problems.push(
      `must return the columns day, value (or numerator and denominator) and optionally segment; it returns ${columns.map((column) => column.name).join(', ')}`,
    );
  const typeOf = (name: string): string | undefined => byName.get(name);
  if (byName.has('day') && typeOf('day') !== 'DATE') problems.push(`day must be a DATE, it is ${typeOf('day')}`);
  for (const name of measures.filter(
    (measure) => byName.has(measure) && !NUMBER_TYPES.includes(typeOf(measure) as string),
  ))
    problems.push(`${name} must be a number (INT64, FLOAT64 or NUMERIC), it is ${typeOf(name)}`);
  if (byName.has('segment') && typeOf('segment') !== 'STRING')
    problems.push(`segment must be a STRING, it is ${typeOf('segment')}: CAST it AS STRING`);
  return problems;
}

/** The engine's description of the rendered query, or null after recording why it has none. */
async function describe(
  warehouse: Warehouse,
  template: string,
  values: Record<string, string>,
  window: QueryParams,
  context: JobContext,
  report: QueryCheck,
): Promise<QueryShape | null> {
  try {
    const shape = await warehouse.describeQuery(renderTemplate(template, values, report.sql), window, {
      ...context,
      sqlFile: report.sql,
    });
    report.bytes_processed = shape.bytesProcessed;
    return shape;
  } catch (thrown) {
    const error = toError(thrown);
    if (!(error instanceof QueryError)) throw error;
    report.problems.push({
      position: error.position && templatePosition(template, values, error.position),
      message: error.message,
    });
    return null;
  }
}

/** One line per problem: `FILE: ENTRY (SQL:LINE:COLUMN): message`. */
export function describeProblems(results: QueryCheck[]): string[] {
  return results.flatMap((result) =>
    result.problems.map(
      ({ position, message }) =>
        `${result.file}: ${result.entry} (${result.sql}${position ? `:${position.line}:${position.column}` : ''}): ${message}`,
    ),
  );
}
