/**
 * The KPI monitor use-case: reads each enabled check's daily series over the window it needs,
 * evaluates every check for every requested day, and sends the raised ones as alerts. The run is
 * recorded in the run log as job kpi_monitor.
 */
import { uniq } from 'lodash';
import type { KpiCheck } from '../config/monitor-config';
import type { IsoDate } from '../dates';
import { addDays } from '../dates';
import { kpiAlert, type Alert } from '../alerts/alert';
import { deliverAlerts, type AlertDeps, type DeliveryReport } from '../alerts/deliver';
import { recordRun } from '../etl/run-log';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import { evaluate, windowStart, type CheckResult, type DayPoint, type KpiSeries } from './detect';

export const KPI_MONITOR_JOB = 'kpi_monitor';

export interface MonitorRequest {
  /** Days to check, each on its own. */
  dates: IsoDate[];
  runId: string;
  username: string;
}

export interface KpiMonitorOutcome {
  results: CheckResult[];
  alerts: Alert[];
  delivery: DeliveryReport;
}

export async function runKpiMonitor(deps: AlertDeps, checks: KpiCheck[], request: MonitorRequest): Promise<KpiMonitorOutcome> {
  const { dates, runId } = request;
  const identity = { runId, jobName: KPI_MONITOR_JOB, jobType: 'monitor', username: request.username };
  const context = { job: KPI_MONITOR_JOB, runId };
  const enabled = checks.filter((check) => check.isEnable);
  const logger = deps.logger.child({ run_id: runId });
  const span = dates.length === 1 ? dates[0] : `${dates[0]}..${dates.at(-1)}`;
  return recordRun(deps, identity, `KPI checks for ${span}: ${enabled.map((check) => check.name).join(', ')}`, async () => {
    const results = await checkKpis(deps.warehouse, enabled, dates, context);
    const raisedAt = deps.clock();
    const alerts = results.filter((result) => result.raise_flag).map((result) => kpiAlert(result, runId, raisedAt));
    logger.info('KPI checks done', { checks: results.length, raised: alerts.length });
    const delivery = await deliverAlerts({ ...deps, logger }, alerts, { ...context, source: `kpi-monitor (${span})` });
    const summary = `${results.length} checks for ${span}: ${alerts.length} raised, ${delivery.published.length} published, Slack ${delivery.slack}`;
    return { value: { results, alerts, delivery }, summary };
  });
}

/** Every check on every day, in the order of the days and then of the config. */
export async function checkKpis(warehouse: Warehouse, checks: KpiCheck[], dates: IsoDate[], context: JobContext): Promise<CheckResult[]> {
  if (checks.length === 0 || dates.length === 0) return [];
  const sorted = [...dates].sort();
  const last = sorted.at(-1) as IsoDate;
  // Coverage reaches back past the training windows by the longest warm-up: the first day with
  // data in that reach is either the true first day, or far enough back not to matter.
  const reach = Math.max(...checks.map((check) => check.training_days)) + Math.max(...checks.map((check) => check.warm_up_days));
  const coverageByDataset = new Map<string, Coverage>();
  for (const dataset of uniq(checks.map((check) => check.dataset))) {
    coverageByDataset.set(dataset, await readCoverage(warehouse, dataset, addDays(sorted[0] as IsoDate, -reach), last, context));
  }
  const seriesByCheck = new Map<string, KpiSeries>();
  for (const check of checks) {
    const coverage = coverageByDataset.get(check.dataset) as Coverage;
    const values = await readSeries(warehouse, check, windowStart(check, sorted[0] as IsoDate), last, context);
    const points = new Map<IsoDate, DayPoint>([...values].map(([day, value]) => [day, { value, active: coverage.activeDays.has(day) }]));
    seriesByCheck.set(check.name, { firstDay: coverage.firstDay, points });
  }
  return dates.flatMap((date) => checks.map((check) => evaluate(check, seriesByCheck.get(check.name) as KpiSeries, date)));
}

interface Coverage {
  firstDay: IsoDate | null;
  activeDays: Set<IsoDate>;
}

async function readCoverage(warehouse: Warehouse, dataset: string, start: IsoDate, end: IsoDate, context: JobContext): Promise<Coverage> {
  const daily = renderSqlFile('monitors/coverage.sql', { daily_user_panel: warehouse.tableRef(dataset, 'daily_user_panel') });
  const activeDays = [...(await readDailySeries(warehouse, daily, start, end, context))].filter(([, users]) => users > 0).map(([day]) => day);
  return { firstDay: activeDays[0] ?? null, activeDays: new Set(activeDays) };
}

function readSeries(warehouse: Warehouse, check: KpiCheck, start: IsoDate, end: IsoDate, context: JobContext): Promise<Map<IsoDate, number>> {
  const daily = renderSqlFile(`monitors/${check.metric}.sql`, {
    table: warehouse.tableRef(check.dataset, check.table_id),
    installs: warehouse.tableRef(check.dataset, 'installs'),
  });
  return readDailySeries(warehouse, daily, start, end, context);
}

/** A daily query wrapped in the date spine (sql/monitors/series.sql): every day of the window, in order. */
async function readDailySeries(warehouse: Warehouse, daily: string, start: IsoDate, end: IsoDate, context: JobContext): Promise<Map<IsoDate, number>> {
  const sql = renderSqlFile('monitors/series.sql', { date_spine: warehouse.dateSpine('start_date', 'end_date'), daily });
  const rows = await warehouse.query(sql, dateRange(start, end), context);
  return new Map(rows.map((row) => [String(row.day), Number(row.value)]));
}

function dateRange(start: IsoDate, end: IsoDate) {
  return { start_date: { type: 'DATE' as const, value: start }, end_date: { type: 'DATE' as const, value: end } };
}
