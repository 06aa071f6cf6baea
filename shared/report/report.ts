/**
 * `kpis report`: what the report shows, read from the warehouse it is pointed at. Every enabled
 * check is judged on every day of the range exactly as the KPI monitor judges it (checkKpis), so
 * the chart's baseline, band and raised days are the monitor's own; the ETL's runs come from the
 * run log, the alerts from the alert history. Missing tables make a report that says so.
 */
import { createHash } from 'node:crypto';
import { configuredTables, type EtlJob } from '../config/etl-config';
import type { KpiCheck } from '../config/kpi-checks';
import { addDays, dayIn, daysBetween, startOfDayIn, type DateRange, type IsoDate } from '../dates';
import { TableNotFoundError, toError } from '../errors';
import { restatedDaysOf } from '../etl/run-log';
import { runLogValues, shapeOf, type RunLogShape } from '../etl/run-log-shape';
import { checkLabel, type CheckResult } from '../monitor/detect';
import { completeAt } from '../monitor/complete-days';
import { checkKpis } from '../monitor/kpi-monitor';
import { ALERTS_TABLE, RUN_LOG_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import { canonicalTimestamp } from '../timestamps';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { DISPLAY_WIDTH, displayText, formatChange } from '../format';
import { occurrences } from '../config/calendar';
import type { CalendarSpan, RunBar, SeriesPoint } from './charts';

/** Eight weeks: enough to see the weekly rhythm the weekday method compares against. */
export const DEFAULT_REPORT_DAYS = 56;
export const DEFAULT_REPORT_FILE = '.data/report.html';

export interface ReportRequest {
  range: DateRange;
  /** Only these checks (default every enabled one). */
  checks?: string[];
  generatedAt: Date;
  /** Where the data came from, e.g. "DuckDB .data/warehouse.duckdb". */
  source: string;
}

export interface CheckSection {
  name: string;
  description: string;
  method: string;
  /** One series per segment; one (segment null) for a check without segments; with the calendar entries that apply to it. */
  series: { segment: string | null; points: SeriesPoint[]; calendar?: CalendarSpan[] }[];
  /** Why the check could not be judged; its series is then empty. */
  error: string | null;
  raised: number;
  /** Check-days that raised on a calendar one_off day, and were muted. */
  muted?: number;
}

export interface ReportAlert {
  alert_id: string;
  kind: string;
  check: string;
  segment: string | null;
  date: IsoDate;
  severity: string;
  message: string;
  /** `resolved` for the follow-up of an alert that late events disproved, `muted` for one the calendar kept back (never sent); absent as raised. */
  status?: string;
}

export interface ReportData {
  range: DateRange;
  /** The pipeline chart's days: the range, and on to today, when the range's days were built. */
  pipelineRange: DateRange;
  timeZone: string;
  generatedAt: string;
  source: string;
  checks: CheckSection[];
  runs: RunBar[];
  /** Days of the range (up to the last complete one) that no successful run built. */
  missingDays: IsoDate[];
  /** Days of the range a successful run built again because late events changed them (restate_days). */
  restatedDays?: IsoDate[];
  /** Days of the range a KPI monitor run judged before they were complete (end of day plus a check's complete_after_hours). */
  judgedEarly?: IsoDate[];
  /** Why the run log could not be read, if it could not. */
  runLogError: string | null;
  alerts: ReportAlert[];
  alertsError: string | null;
}

export async function reportData(
  warehouse: Warehouse,
  job: EtlJob,
  checks: KpiCheck[],
  request: ReportRequest,
  context: JobContext,
): Promise<ReportData> {
  const days = daysBetween(request.range.start, request.range.end);
  const results = await checkKpis(warehouse, checks, days, context, job.timeZone, configuredTables(job));
  const sections = checks.map((check) =>
    section(
      check,
      results.filter((result) => result.check === check.name),
      request.range,
    ),
  );
  const pipeline = await pipelineData(warehouse, job, checks, request, context);
  const alerts = await readAlerts(warehouse, request.range, context).then(
    (value) => ({ value, error: null }),
    (error: unknown) => ({ value: [] as ReportAlert[], error: readFailure(error, 'the alert history') }),
  );
  return {
    range: request.range,
    pipelineRange: pipeline.pipelineRange,
    timeZone: job.timeZone,
    generatedAt: request.generatedAt.toISOString(),
    source: request.source,
    checks: sections,
    runs: pipeline.runs,
    missingDays: pipeline.missingDays,
    restatedDays: pipeline.restatedDays,
    judgedEarly: pipeline.judgedEarly,
    runLogError: pipeline.runLogError,
    alerts: alerts.value,
    alertsError: alerts.error,
  };
}

/** The pipeline chart's part of the report, from the run log: its runs, and the days missing, restated or judged early. */
async function pipelineData(
  warehouse: Warehouse,
  job: EtlJob,
  checks: KpiCheck[],
  request: ReportRequest,
  context: JobContext,
): Promise<
  Pick<ReportData, 'pipelineRange' | 'runs' | 'missingDays' | 'restatedDays' | 'judgedEarly' | 'runLogError'>
> {
  const days = daysBetween(request.range.start, request.range.end);
  const today = dayIn(request.generatedAt, job.timeZone);
  // The pipeline's runs up to now: the days of the range are often built after they end.
  const shownUntil = today > request.range.end ? today : request.range.end;
  const runs = await readRuns(warehouse, job, { start: request.range.start, end: shownUntil }, context).then(
    (value) => ({ ...value, error: null }),
    (error: unknown) => ({
      runs: [] as RunBar[],
      covered: new Set<IsoDate>(),
      restated: new Set<IsoDate>(),
      error: readFailure(error, 'the run log'),
    }),
  );
  // The run log's shape as readRuns found it: its columns are read once.
  const judgedEarly =
    runs.error === null
      ? await readJudgedEarly(warehouse, runs.shape, checks, request.range, job.timeZone, context)
      : [];
  return {
    pipelineRange: { start: request.range.start, end: shownUntil },
    runs: runs.runs,
    missingDays: runs.error === null ? days.filter((day) => day < today && !runs.covered.has(day)) : [],
    restatedDays: days.filter((day) => runs.restated.has(day)),
    judgedEarly,
    runLogError: runs.error,
  };
}

/** A missing table is something to say in the report; anything else is a failure of the report. */
function readFailure(error: unknown, what: string): string {
  if (error instanceof TableNotFoundError) return `${what} does not exist in this warehouse yet`;
  throw toError(error);
}

function section(check: KpiCheck, results: CheckResult[], range: DateRange): CheckSection {
  const failed = results.find((result) => result.verdict === 'error');
  const base = { name: check.name, description: check.description, method: methodText(check) };
  if (failed) return { ...base, series: [], error: failed.message, raised: 0 };
  const bySegment = new Map<string | null, CheckResult[]>();
  for (const result of results) bySegment.set(result.segment, [...(bySegment.get(result.segment) ?? []), result]);
  // A segmented check judges an empty day once, for the whole check: that result stands in every segment's chart.
  const wholeCheck = bySegment.get(null) ?? [];
  const segments = [...bySegment.keys()].filter((segment) => segment !== null);
  const series = (segments.length === 0 ? [null] : segments).map((segment) => {
    const own = segment === null ? wholeCheck : [...(bySegment.get(segment) ?? []), ...wholeCheck];
    const points = own.sort((a, b) => a.date.localeCompare(b.date)).map(point);
    return { segment, points, calendar: calendarSpans(check, segment, range) };
  });
  const muted = results.filter((result) => result.verdict === 'muted').length;
  return { ...base, series, error: null, raised: results.filter((result) => result.raise_flag).length, muted };
}

/** The check's calendar entries that apply to a segment's chart, within the range (a yearly one in each year). */
function calendarSpans(check: KpiCheck, segment: string | null, range: DateRange): CalendarSpan[] {
  return (check.calendar ?? [])
    .filter((entry) => entry.segments === null || (segment !== null && entry.segments.includes(segment)))
    .flatMap((entry) =>
      occurrences(entry, range.start, range.end).map((span) => ({ ...span, kind: entry.kind, note: entry.note })),
    )
    .filter((span) => span.start <= range.end && span.end >= range.start)
    .map((span) => ({
      ...span,
      start: span.start < range.start ? range.start : span.start,
      end: span.end > range.end ? range.end : span.end,
    }));
}

function point(result: CheckResult): SeriesPoint {
  const status = pointStatus(result);
  return {
    date: result.date,
    value: result.metric,
    baseline: result.previous_metric,
    low: result.band?.low ?? null,
    high: result.band?.high ?? null,
    status,
    label: pointLabel(result, status),
  };
}

/** A raised day without events and without a baseline is a lost day (or segment). */
function pointStatus(result: CheckResult): SeriesPoint['status'] {
  const lost = result.raise_flag && result.metric === 0 && result.previous_metric === null;
  return result.verdict === 'raised' ? (lost ? 'lost' : 'raised') : result.verdict;
}

/** A raised or muted day is labelled with its change, a lost one as lost. */
function pointLabel(result: CheckResult, status: SeriesPoint['status']): string | null {
  if (status === 'lost') return 'lost';
  if (status !== 'raised' && status !== 'muted') return null;
  return result.change === null ? 'from 0' : formatChange(result.change);
}

function methodText(check: KpiCheck): string {
  const threshold =
    check.method === 'zscore'
      ? `sensitivity ${check.sensitivity}`
      : `threshold ±${Math.round(check.thresh_in_percent * 1000) / 10}%`;
  return `${check.method}, ${threshold}, ${check.direction === 'both' ? 'spikes and drops' : `${check.direction}s only`}, over ${check.training_days} days`;
}

/** Each run of the ETL job that started in the range (in the business zone), and the days the succeeded ones built. */
async function readRuns(
  warehouse: Warehouse,
  job: EtlJob,
  range: DateRange,
  context: JobContext,
): Promise<{ runs: RunBar[]; covered: Set<IsoDate>; restated: Set<IsoDate>; shape: RunLogShape }> {
  // One read of the table's columns says both whether it exists and which shape it has.
  const columns = await warehouse.columnsOf(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table);
  if (columns === null) throw new TableNotFoundError('the run log does not exist');
  const shape = shapeOf(columns);
  // dt is the UTC day of a row: a day either side covers every zone.
  const rows = await warehouse.query(
    renderSqlFile('reports/etl_runs.sql', runLogValues(warehouse, shape)),
    {
      start_date: { type: 'DATE', value: addDays(range.start, -1) },
      end_date: { type: 'DATE', value: addDays(range.end, 1) },
      job_name: { type: 'STRING', value: job.jobName },
    },
    { ...context, sqlFile: 'reports/etl_runs.sql' },
  );
  const from = startOfDayIn(range.start, job.timeZone).getTime();
  const until = startOfDayIn(addDays(range.end, 1), job.timeZone).getTime();
  const runs: RunBar[] = [];
  const covered = new Set<IsoDate>();
  const restatedDays = new Set<IsoDate>();
  for (const row of rows) {
    const start = new Date(canonicalTimestamp(row.started_at as string | Date));
    if (start.getTime() < from || start.getTime() >= until) continue;
    const run = runOf(row, start, job.timeZone);
    if (run.bar.status === 'succeeded') for (const day of [...run.days, ...run.restated]) covered.add(day);
    if (run.bar.status === 'succeeded') for (const day of run.restated) restatedDays.add(day);
    runs.push(run.bar);
  }
  return { runs, covered, restated: restatedDays, shape };
}

/** One run-log summary row as a bar of the chart, with the days it built and restated. */
function runOf(row: Row, start: Date, timeZone: string): { bar: RunBar; days: IsoDate[]; restated: IsoDate[] } {
  const end = new Date(canonicalTimestamp(row.finished_at as string | Date));
  const status = Number(row.errors) > 0 ? 'failed' : Number(row.ends) > 0 ? 'succeeded' : 'running';
  const built = /(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})/.exec(String(row.start_message ?? ''));
  // A run whose start row does not name its days (the cron job's) built the day before it ran, and that day.
  const startDay = dayIn(start, timeZone);
  const days = built ? daysBetween(built[1] as IsoDate, built[2] as IsoDate) : [addDays(startDay, -1), startDay];
  const restated = restatedDaysOf(row.restate_messages);
  const span =
    (days.length === 1 ? days[0] : `${days[0]}..${days.at(-1)}`) +
    (restated.length > 0 ? ` (restated ${restated.join(', ')})` : '');
  const bar: RunBar = {
    run_id: String(row.run_id),
    start: start.toISOString(),
    end: end.toISOString(),
    status,
    label: `run ${displayText(String(row.run_id), DISPLAY_WIDTH.label)}: ${status}, ${span}, started ${start.toISOString()}`,
  };
  return { bar, days, restated };
}

/**
 * Days a KPI monitor run judged before they were complete: its start row (which names its days and
 * checks) is older than the day's end in the zone plus the grace of one of its checks. A range of
 * days in the message is taken whole.
 */
async function readJudgedEarly(
  warehouse: Warehouse,
  shape: RunLogShape,
  checks: KpiCheck[],
  range: DateRange,
  timeZone: string,
  context: JobContext,
): Promise<IsoDate[]> {
  const rows = await warehouse.query(
    renderSqlFile('reports/kpi_monitor_runs.sql', runLogValues(warehouse, shape)),
    {
      start_date: { type: 'DATE', value: addDays(range.start, -1) },
      end_date: { type: 'DATE', value: addDays(range.end, 60) },
    },
    { ...context, sqlFile: 'reports/kpi_monitor_runs.sql' },
  );
  const grace = new Map(checks.map((check) => [check.name, check.complete_after_hours ?? 0]));
  const early = new Set<IsoDate>();
  for (const row of rows) {
    const parsed = /^KPI checks for (\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?: (.*)$/s.exec(String(row.message));
    if (!parsed) continue;
    const at = Date.parse(canonicalTimestamp(row.started_at as string | Date));
    const hours = Math.max(
      0,
      ...String(parsed[3])
        .split(', ')
        .map((name) => grace.get(name) ?? 0),
    );
    for (const day of daysBetween(parsed[1] as IsoDate, (parsed[2] ?? parsed[1]) as IsoDate)) {
      if (day >= range.start && day <= range.end && at < completeAt(day, hours, timeZone).getTime()) early.add(day);
    }
  }
  return [...early].sort();
}

/** The alerts of the range, then the ones the calendar muted; a missing alert history fails the query with a TableNotFoundError. */
async function readAlerts(warehouse: Warehouse, range: DateRange, context: JobContext): Promise<ReportAlert[]> {
  const read = (file: string) =>
    warehouse.query(
      renderSqlFile(file, { alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table) }),
      { start_date: { type: 'DATE', value: range.start }, end_date: { type: 'DATE', value: range.end } },
      { ...context, sqlFile: file },
    );
  const rows = [...(await read('alerts/for_dates.sql')), ...(await read('reports/muted_alerts.sql'))];
  return rows.map((row) => {
    const alert = JSON.parse(String(row.payload)) as Record<string, unknown>;
    return {
      alert_id: String(alert.alert_id),
      kind: String(alert.kind),
      check: String(alert.check),
      segment: typeof alert.segment === 'string' ? alert.segment : null,
      date: String(alert.date),
      severity: String(alert.severity ?? 'warn'),
      message: String(alert.message ?? ''),
      ...(alert.status === 'resolved' || alert.status === 'muted' ? { status: alert.status } : {}),
    };
  });
}

/** A config name that is already a readable anchor (`dau`, `events_by_name`). */
const PLAIN_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The anchor of a check's chart, or of one segment's, for links from the alerts table: readable
 * (`chart-dau`, `chart-events_by_name-ad_watched-1f0c9e2a`), and unique: a segment's anchor ends
 * with a hash of the exact check and segment, so `a.b` and `a-b`, or names in two scripts that
 * slug alike, never share one. Its readable part is cut, so a long name makes a short anchor.
 */
export function chartAnchor(check: string, segment: string | null): string {
  if (segment === null && PLAIN_NAME.test(check)) return `chart-${check}`;
  // Cut before joining: a 200 MB segment costs its first characters.
  return `chart-${slug(checkLabel(check.slice(0, 48), segment?.slice(0, 48) ?? null))}-${shortHash(check, segment)}`;
}

/** The anchor of a check's section: `check-<name>`, or a slug and hash for a name that is not plain. */
export function checkAnchor(check: string): string {
  return PLAIN_NAME.test(check) ? `check-${check}` : `check-${slug(check)}-${shortHash(check, null)}`;
}

function slug(text: string): string {
  return text
    .slice(0, 48)
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function shortHash(check: string, segment: string | null): string {
  return createHash('sha256')
    .update(JSON.stringify([check, segment]))
    .digest('hex')
    .slice(0, 10);
}
