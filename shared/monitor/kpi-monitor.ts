/**
 * The KPI monitor use-case: reads each enabled check's daily series over the window it needs,
 * evaluates every check (every segment of a segmented one) for every requested day, and sends the
 * raised ones as alerts. A check that fails (a missing table, a SQL error, a bad column) becomes
 * that check's result and one pipeline alert; the other checks still run. The run is recorded in
 * the run log as job kpi_monitor.
 */
import { alertSegment, pipelineAlert, routedAlert, type Alert } from '../alerts/alert';
import { deliverAlerts, NOT_DELIVERED, type AlertDeps, type DeliveryReport } from '../alerts/deliver';
import type { KpiCheck } from '../config/kpi-checks';
import { checkQueryValues, rangeParams, renderQuery, resolveTableName } from '../config/table-sql';
import { addDays, daysBetween, DEFAULT_TIME_ZONE, type IsoDate } from '../dates';
import { isTransientFailure, QueryError, TableNotFoundError, toError } from '../errors';
import { recordRun } from '../etl/run-log';
import { readSqlTemplate, renderTemplate } from '../sql';
import type { JobContext, QueryParams, Row, Warehouse } from '../warehouse/warehouse';
import { planIncidents, readIncidentDays, recordIncidentDays, type IncidentPlan } from './incidents';
import { seriesCalendar } from '../config/calendar';
import { judgeSeries, windowStart, type CheckResult, type DayPoint, type KpiSeries } from './detect';
import { mutedAlert, recordMuted } from './muted';
import { counted } from '../plural';

export const KPI_MONITOR_JOB = 'kpi_monitor';
/** The segment that stands for every segment beyond a check's max_segments. */
export const OTHER_SEGMENT = '(other)';

export interface MonitorRequest {
  /** Days to check, each on its own. */
  dates: IsoDate[];
  /** The business day's zone (default UTC): a check's window is bounded by local midnights. */
  timeZone?: string;
  runId: string;
  username: string;
  /** Judge and report only: no alert published, nothing written to the run log or the alert history. */
  dryRun?: boolean;
  /** The run log's job_name for this run (a crontab line's --etl-name); default kpi_monitor. */
  jobName?: string;
  /**
   * The ETL config's tables (configuredTables): where the daily user panel that says which days had
   * events is, whatever dataset a check reads. Absent: each check's own dataset's.
   */
  tables?: ReadonlyMap<string, string>;
}

export interface KpiMonitorOutcome {
  results: CheckResult[];
  alerts: Alert[];
  delivery: DeliveryReport;
}

export async function runKpiMonitor(
  deps: AlertDeps,
  checks: KpiCheck[],
  request: MonitorRequest,
): Promise<KpiMonitorOutcome> {
  const { dates, runId } = request;
  const jobName = request.jobName ?? KPI_MONITOR_JOB;
  const span = dates.length === 1 ? (dates[0] as IsoDate) : `${dates[0]}..${dates.at(-1)}`;
  const run: MonitorRun = {
    enabled: checks.filter((check) => check.isEnable),
    request,
    context: { job: jobName, runId },
    span,
  };
  if (request.dryRun) {
    const { results, alerts } = await judgeRun(deps, run);
    return { results, alerts, delivery: NOT_DELIVERED };
  }
  const identity = { runId, jobName, jobType: 'monitor', username: request.username };
  return recordRun(deps, identity, `KPI checks for ${span}: ${run.enabled.map((check) => check.name).join(', ')}`, () =>
    deliverRun(deps, run),
  );
}

/** One monitor run: its enabled checks, what was asked, its job context, and the days it covers as a label. */
interface MonitorRun {
  enabled: KpiCheck[];
  request: MonitorRequest;
  context: JobContext;
  span: string;
}

/** Every check judged, and the alerts the run would send: incidents' alerts and one per broken check. */
async function judgeRun(
  deps: AlertDeps,
  run: MonitorRun,
): Promise<{ results: CheckResult[]; alerts: Alert[]; incidents: IncidentPlan }> {
  const { enabled, request, context } = run;
  const results = await checkKpis(deps.warehouse, enabled, request.dates, context, request.timeZone, request.tables);
  const raisedAt = deps.clock();
  // Consecutive raised days are one incident: its first day alerts, later days update, the day after recovers (./incidents.ts).
  const byName = new Map(enabled.map((check) => [check.name, check]));
  const remindAfterHours = (name: string) => byName.get(name)?.remind_after_hours ?? 24;
  const incidents = planIncidents(results, await readIncidentDays(deps.warehouse, request.dates, context), {
    remindAfterHours,
    runId: request.runId,
    at: raisedAt,
  });
  const failures = results
    .filter((result) => result.raise_flag && result.verdict === 'error')
    .map((result) => checkFailedAlert(result, request.runId, raisedAt));
  const alerts = [...incidents.alerts, ...failures].map((alert) => routedAlert(alert, byName.get(alert.check)));
  return { results, alerts, incidents };
}

/** The recorded run: judge, send the alerts, then record the incidents' days and the muted results. */
async function deliverRun(deps: AlertDeps, run: MonitorRun): Promise<{ value: KpiMonitorOutcome; summary: string }> {
  const { context, span } = run;
  const logger = deps.logger.child({ run_id: context.runId });
  const { results, alerts, incidents } = await judgeRun(deps, run);
  const failed = results.filter((result) => result.verdict === 'error').map((result) => result.check);
  if (failed.length > 0) logger.error('KPI checks failed; the others ran', { checks: failed });
  // Raised counts days that raise; alerts also holds an incident's updates and recoveries.
  const raised = results.filter((result) => result.raise_flag).length;
  logger.info('KPI checks done', { checks: results.length, raised, alerts: alerts.length });
  const delivery = await deliverAlerts({ ...deps, logger }, alerts, { ...context, source: `kpi-monitor (${span})` });
  // After the publish: a day recorded raised is a day whose alert went out (a retry recomputes the same).
  await recordIncidentDays(deps.warehouse, incidents, deps.clock(), context);
  // Raised on a calendar one_off day: in the alert history as muted, with the note, and sent nowhere.
  const muted = results
    .filter((result) => result.verdict === 'muted')
    .map((result) => mutedAlert(result, context.runId, deps.clock()));
  await recordMuted(deps.warehouse, muted, context.runId, deps.clock(), context);
  if (muted.length > 0)
    logger.info('KPI checks muted by the calendar', { alert_ids: muted.map((alert) => alert.alert_id) });
  const failures = failed.length > 0 ? ` (${failed.length} failed: ${failed.join(', ')})` : '';
  const summary = `${counted(results.length, 'check')} for ${span}: ${raised} raised${failures}, ${delivery.published.length} published, Slack ${delivery.slack}`;
  return { value: { results, alerts, delivery }, summary };
}

/** A broken check raises once, as a pipeline alert naming it: its KPI was not watched. */
function checkFailedAlert(result: CheckResult, runId: string, raisedAt: Date): Alert {
  return pipelineAlert(
    { check: result.check, date: result.date, reason: 'check_failed', message: result.message, table: result.table },
    runId,
    raisedAt,
  );
}

/**
 * Every check on every day, in the order of the days, then of the config, then of the segments.
 * A transient failure throws (the run is retried); any other failure of a check is its result.
 */
export async function checkKpis(
  warehouse: Warehouse,
  checks: KpiCheck[],
  dates: IsoDate[],
  context: JobContext,
  timeZone = DEFAULT_TIME_ZONE,
  tables: ReadonlyMap<string, string> = new Map(),
): Promise<CheckResult[]> {
  if (checks.length === 0 || dates.length === 0) return [];
  const sorted = [...dates].sort();
  const span: CheckSpan = { dates, first: sorted[0] as IsoDate, last: sorted.at(-1) as IsoDate, timeZone, context };
  const coverageOf = coverageReader(
    warehouse,
    tables,
    rangeParams({ start: addDays(span.first, -coverageReach(checks)), end: span.last }, timeZone),
    context,
  );
  const perCheck: CheckResult[][] = [];
  for (const check of checks) {
    try {
      perCheck.push(await judgeCheck(warehouse, check, await coverageOf(check.dataset), span));
    } catch (thrown) {
      const error = toError(thrown);
      if (isTransientFailure(error)) throw error;
      perCheck.push([failedCheck(check, span.last, error)]);
    }
  }
  return inDayOrder(perCheck, dates);
}

/** The days to judge (as asked, and their first and last) and where the checks' queries run. */
interface CheckSpan {
  dates: IsoDate[];
  first: IsoDate;
  last: IsoDate;
  timeZone: string;
  context: JobContext;
}

/**
 * Days of coverage read before the first day. It reaches back past the training windows by the
 * longest warm-up: the first day with data in that reach is either the true first day, or far
 * enough back not to matter.
 */
function coverageReach(checks: KpiCheck[]): number {
  return (
    Math.max(...checks.map((check) => check.training_days + readAhead(check))) +
    Math.max(...checks.map((check) => check.warm_up_days))
  );
}

/** One check's results on every day: its whole series', or each segment's on a day with events. */
async function judgeCheck(
  warehouse: Warehouse,
  check: KpiCheck,
  coverage: Coverage,
  span: CheckSpan,
): Promise<CheckResult[]> {
  const { dates, first, last } = span;
  const { total, segments } = await readCheckSeries(warehouse, check, coverage, span);
  const judged = (series: KpiSeries): Map<IsoDate, CheckResult> => {
    const calendar = seriesCalendar(
      check.calendar ?? [],
      check.name,
      series.segment ?? null,
      addDays(windowStart(check, first), -readAhead(check)),
      last,
    );
    return new Map(judgeSeries(check, series, dates, calendar).map((result) => [result.date, result]));
  };
  const [wholeCheck, bySegment] = [judged(total), segments.map(judged)];
  // A day without any events raises once per check, not once per segment: the segments say nothing more.
  return dates.flatMap((date) =>
    segments.length === 0 || !coverage.activeDays.has(date)
      ? [wholeCheck.get(date) as CheckResult]
      : bySegment.map((results) => results.get(date) as CheckResult),
  );
}

/** The checks' results in the order of the days, then of the config (perCheck's order), then of the segments. */
function inDayOrder(perCheck: CheckResult[][], dates: IsoDate[]): CheckResult[] {
  const dayIndex = new Map(dates.map((date, index) => [date, index]));
  return perCheck
    .flatMap((results, order) => results.map((result) => ({ result, order })))
    .sort(
      (a, b) => (dayIndex.get(a.result.date) as number) - (dayIndex.get(b.result.date) as number) || a.order - b.order,
    )
    .map(({ result }) => result);
}

/**
 * Days read before a check's first training window: with exclude_raised_days, the days of that
 * window are judged too (from a window of their own), so a spike in it is known as raised.
 */
function readAhead(check: KpiCheck): number {
  return check.exclude_raised_days ? check.training_days : 0;
}

function failedCheck(check: KpiCheck, date: IsoDate, error: Error): CheckResult {
  return {
    check: check.name,
    segment: null,
    date,
    metric: null,
    previous_metric: null,
    change: null,
    score: null,
    raise_flag: true,
    verdict: 'error',
    method: check.method,
    direction: check.direction,
    threshold: check.method === 'zscore' ? check.sensitivity : check.thresh_in_percent,
    band: null,
    trend: null,
    failure: error instanceof TableNotFoundError ? 'missing_table' : error instanceof QueryError ? 'query' : 'other',
    severity: 'error',
    message: `${check.name}: the check failed and was not judged (${check.sqlLabel}): ${error.message}`,
    table: check.table_id === null ? null : `${check.dataset}.${check.table_id}`,
  };
}

interface Coverage {
  firstDay: IsoDate | null;
  activeDays: Set<IsoDate>;
}

/** Each check's coverage, read once per daily user panel: checks of several datasets share the one the ETL writes. */
function coverageReader(
  warehouse: Warehouse,
  tables: ReadonlyMap<string, string>,
  window: QueryParams,
  context: JobContext,
): (dataset: string) => Promise<Coverage> {
  const coverage = new Map<string, Promise<Coverage>>();
  return (dataset) => {
    const panel = resolveTableName(PANEL, dataset, tables);
    if (!coverage.has(panel)) coverage.set(panel, readCoverage(warehouse, dataset, tables, window, context));
    return coverage.get(panel) as Promise<Coverage>;
  };
}

/** The table sql/monitors/coverage.sql reads: the ETL config's, else the one in the check's dataset. */
const PANEL = 'daily_user_panel';

/** Which days had any events, from the daily user panel (sql/monitors/coverage.sql). */
async function readCoverage(
  warehouse: Warehouse,
  dataset: string,
  tables: ReadonlyMap<string, string>,
  window: QueryParams,
  context: JobContext,
): Promise<Coverage> {
  const sql = renderQuery(
    warehouse,
    readSqlTemplate('monitors/coverage.sql'),
    dataset,
    tables,
    {},
    'monitors/coverage.sql',
  );
  const rows = await warehouse.query(sql, window, { ...context, sqlFile: 'monitors/coverage.sql' });
  const activeDays = rows
    .filter((row) => Number(row.value) > 0)
    .map((row) => String(row.day))
    .sort();
  return { firstDay: activeDays[0] ?? null, activeDays: new Set(activeDays) };
}

/** The check's rows over the window its first day needs: their total, and one series per segment (none without segments). */
async function readCheckSeries(
  warehouse: Warehouse,
  check: KpiCheck,
  coverage: Coverage,
  span: CheckSpan,
): Promise<{ total: KpiSeries; segments: KpiSeries[] }> {
  const { first, last } = span;
  const start = addDays(windowStart(check, first), -readAhead(check));
  const sql = renderTemplate(check.query, checkQueryValues(warehouse, check), check.sqlLabel);
  const rows = (
    await warehouse.query(sql, rangeParams({ start, end: last }, span.timeZone), {
      ...span.context,
      sqlFile: check.sqlLabel,
    })
  ).map(checkedRow);
  // A ratio check's day without a row has a denominator of 0: below any min_denominator, so it is
  // no baseline (a D30 series starts 30 days after the others).
  const absent: DaySum = rows.some((row) => row.ratio) ? ratioOf(0, 0) : { value: 0 };
  const series = seriesOf(coverage, daysBetween(start, last), absent);
  const total = series(null, sumByDay(rows));
  if (!rows.some((row) => row.segment !== undefined)) return { total, segments: [] };
  const { kept, rest } = rankSegments(check, first, rows);
  const segments = [
    ...kept.map(([segment, segmentRows]) => series(segment, sumByDay(segmentRows))),
    ...(rest.length > 0 ? [series(OTHER_SEGMENT, sumByDay(rest))] : []),
  ];
  return { total, segments };
}

/** Builds a segment's series (null: the total) over the days, with each day's coverage and `absent` for a day without a row. */
function seriesOf(
  coverage: Coverage,
  days: IsoDate[],
  absent: DaySum,
): (segment: string | null, values: Map<IsoDate, DaySum>) => KpiSeries {
  return (segment, values) => ({
    firstDay: coverage.firstDay,
    // Cut here, once, so the results, their alerts, incidents and the report name it alike.
    segment: alertSegment(segment),
    points: new Map(
      days.map((day): [IsoDate, DayPoint] => [
        day,
        { ...(values.get(day) ?? absent), active: coverage.activeDays.has(day), present: values.has(day) },
      ]),
    ),
  });
}

/** The largest segments by volume over the training window are judged on their own (kept), the rest as one. */
function rankSegments(
  check: KpiCheck,
  first: IsoDate,
  rows: ParsedRow[],
): { kept: [string, ParsedRow[]][]; rest: ParsedRow[] } {
  const bySegment = new Map<string, ParsedRow[]>();
  for (const row of rows) bySegment.set(row.segment as string, [...(bySegment.get(row.segment as string) ?? []), row]);
  const volume = (segmentRows: ParsedRow[]): number =>
    segmentRows
      .filter((row) => row.day >= windowStart(check, first) && row.day < first)
      .reduce((sum, row) => sum + Math.abs(row.ratio ? row.ratio.denominator : row.value), 0);
  const ranked = [...bySegment.entries()].sort(
    ([a, rowsA], [b, rowsB]) => volume(rowsB) - volume(rowsA) || a.localeCompare(b),
  );
  return {
    kept: ranked.slice(0, check.max_segments),
    rest: ranked.slice(check.max_segments).flatMap(([, segmentRows]) => segmentRows),
  };
}

/** A day's value; a ratio check's also its parts, so segments judged together add up parts, not ratios. */
type DaySum = Pick<DayPoint, 'value' | 'ratio'>;

interface ParsedRow extends DaySum {
  day: IsoDate;
  segment?: string;
}

/**
 * A row of a check's query, checked: `day` a DATE, `value` a number (or, for a ratio check,
 * `numerator` and `denominator`), `segment` (if any) a string.
 */
function checkedRow(row: Row): ParsedRow {
  const measures = measureColumns(row);
  if (typeof row.day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(row.day))
    throw new Error(`day must be a DATE, got ${JSON.stringify(row.day)}`);
  const [first, second] = measures.map((name) => numberOf(row, name));
  const measured: DaySum = second === undefined ? { value: first as number } : ratioOf(first as number, second);
  if (!('segment' in row)) return { day: row.day, ...measured };
  if (row.segment !== null && typeof row.segment !== 'string')
    throw new Error(`segment must be a STRING, got ${JSON.stringify(row.segment)} on ${row.day}: CAST it AS STRING`);
  return { day: row.day, ...measured, segment: row.segment ?? '(null)' };
}

/** The row's measure columns (value, or numerator and denominator), once its columns are checked. */
function measureColumns(row: Row): string[] {
  const measures = 'numerator' in row || 'denominator' in row ? ['numerator', 'denominator'] : ['value'];
  const extra = Object.keys(row).filter((column) => !['day', ...measures, 'segment'].includes(column));
  if (!('day' in row) || measures.some((name) => !(name in row)) || extra.length > 0) {
    throw new Error(
      `the query must return the columns day, value (or numerator and denominator) and optionally segment; it returned ${Object.keys(row).join(', ')}`,
    );
  }
  return measures;
}

function numberOf(row: Row, name: string): number {
  const value = row[name] === null ? 0 : Number(row[name]);
  if (!Number.isFinite(value) || typeof row[name] === 'boolean')
    throw new Error(`${name} must be a number, got ${JSON.stringify(row[name])} on ${String(row.day)}`);
  return value;
}

/** numerator / denominator, 0 when the denominator is 0 (min_denominator keeps such a day from a verdict). */
function ratioOf(numerator: number, denominator: number): DaySum {
  return { value: denominator === 0 ? 0 : numerator / denominator, ratio: { numerator, denominator } };
}

function sumByDay(rows: ParsedRow[]): Map<IsoDate, DaySum> {
  const values = new Map<IsoDate, DaySum>();
  for (const row of rows) {
    const before = values.get(row.day);
    const ratio = row.ratio && {
      numerator: row.ratio.numerator + (before?.ratio?.numerator ?? 0),
      denominator: row.ratio.denominator + (before?.ratio?.denominator ?? 0),
    };
    values.set(
      row.day,
      ratio ? ratioOf(ratio.numerator, ratio.denominator) : { value: row.value + (before?.value ?? 0) },
    );
  }
  return values;
}
