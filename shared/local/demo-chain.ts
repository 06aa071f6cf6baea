/**
 * `npm start`: the whole chain on one machine. Seed the demo warehouse if it is empty (and build
 * its history once), publish the scheduler's trigger to the local Pub/Sub (the router, or Google's
 * emulator: chain-brokers.ts), wait until the ETL and both monitors have finished, then read back
 * the day's KPIs and the alerts raised about it.
 */
import type { Alert } from '../alerts/alert';
import { ga4SourceOf, type EtlJob } from '../config/etl-config';
import { addDays, type IsoDate } from '../dates';
import { runEtl, type EtlDeps, type EtlResult } from '../etl/run-etl';
import { initWarehouse } from '../etl/init';
import { configuredSource } from '../events/load-events';
import { DEMO_DAYS, seedDemo } from '../events/seed-demo';
import { plantCampaign, writeDemoCalendar } from '../events/demo-campaign';
import { holdsExportTables, seedGa4Demo } from '../events/load-ga4';
import { dailySummary, type DailySummary } from '../report/daily-summary';
import { ALERTS_TABLE, type TableSchema } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import type { ChainBroker } from './chain-brokers';

/** What Cloud Scheduler publishes every morning. */
export const SCHEDULER_TRIGGER = { days_back: 1 } as const;

export interface DemoChainResult {
  seeded_events: number;
  /** The one-time build of the seeded history, before the daily trigger. */
  history_build?: EtlResult;
  trigger_message_id: string;
  /** The completion event the etl function published for the trigger. */
  etl: EtlResult | null;
  date: IsoDate;
  kpis: DailySummary;
  previous_date: IsoDate;
  previous_kpis: DailySummary;
  /** Alerts about the day and today, including ones published by an earlier run. */
  alerts: Alert[];
  /** The ones this run published. */
  new_alert_ids: string[];
  /** Deliveries that failed on every attempt. */
  dead_letters: number;
}

export interface DemoChainRequest {
  today: IsoDate;
  runId: string;
  username: string;
  /** The demo's own calendar file, written with the planted campaign's entry. */
  demoCalendar?: string;
}

export async function runDemoChain(
  deps: EtlDeps,
  broker: ChainBroker,
  job: EtlJob,
  request: DemoChainRequest,
): Promise<DemoChainResult> {
  const { warehouse } = deps;
  const context = { job: job.jobName, runId: request.runId };
  const { seededRows, historyBuild } = await prepareDemoWarehouse(deps, job, request, context);

  const triggerId = await broker.publishTrigger(SCHEDULER_TRIGGER);
  const outcome = await broker.settle(triggerId);

  const date = addDays(request.today, -1);
  const previousDate = addDays(date, -1);
  const alerts = await alertsOf(warehouse, date, request.today, context);
  return {
    seeded_events: seededRows,
    history_build: historyBuild,
    trigger_message_id: triggerId,
    etl: outcome.completion,
    date,
    kpis: await dailySummary(warehouse, job, date, context),
    previous_date: previousDate,
    previous_kpis: await dailySummary(warehouse, job, previousDate, context),
    alerts,
    new_alert_ids: outcome.alertIds,
    dead_letters: outcome.deadLetters,
  };
}

/** The warehouse initialised and, if empty, seeded with the demo (and its campaign) and its history built once. */
async function prepareDemoWarehouse(
  deps: EtlDeps,
  job: EtlJob,
  request: DemoChainRequest,
  context: JobContext,
): Promise<{ seededRows: number; historyBuild: EtlResult | undefined }> {
  const { warehouse, clock } = deps;
  await initWarehouse(warehouse, job);
  const seeded = await seedDemoSource(warehouse, job, request.today, clock(), context);
  let historyBuild: EtlResult | undefined;
  // A campaign day the demo's calendar names: the report shows it raised and muted (planted in an
  // events table; a GA4 export's shards are written whole by the demo, without one).
  const campaign = seeded.rows > 0 && seeded.source !== null && request.demoCalendar !== undefined;
  if (campaign) await plantCampaign(warehouse, seeded.source as TableSchema, request.today, clock(), context);
  if (request.demoCalendar !== undefined) writeDemoCalendar(request.demoCalendar, campaign ? request.today : null);
  if (seeded.rows > 0) {
    // Installs and last activity need every day once; from then on the daily trigger keeps them.
    const range = { start: addDays(request.today, -(DEMO_DAYS - 1)), end: request.today };
    historyBuild = (await runEtl(deps, job, { range, runId: `${request.runId}-history`, username: request.username }))
      .result;
  }
  return { seededRows: seeded.rows, historyBuild };
}

/**
 * Seeds the demo into the config's source when it holds nothing: its events table, or, for a
 * GA4 export config, the export's shards (final up to yesterday, today's intraday). `source` is
 * the events table seeded, null for an export.
 */
async function seedDemoSource(
  warehouse: Warehouse,
  job: EtlJob,
  today: IsoDate,
  now: Date,
  context: JobContext,
): Promise<{ rows: number; source: TableSchema | null }> {
  const ga4 = ga4SourceOf(job);
  if (ga4) {
    if (await holdsExportTables(warehouse, ga4)) return { rows: 0, source: null };
    return { rows: (await seedGa4Demo(warehouse, ga4, { today, now })).rows, source: null };
  }
  const source = configuredSource(job);
  const seeded = await seedDemo(warehouse, source, { today, now, whenNotEmpty: 'skip' }, context);
  return { rows: seeded.rows, source };
}

/** The alerts about the days from `start` to `end`, as published. */
async function alertsOf(warehouse: Warehouse, start: IsoDate, end: IsoDate, context: JobContext): Promise<Alert[]> {
  await warehouse.ensureTable(ALERTS_TABLE);
  const rows = await warehouse.query(
    renderSqlFile('alerts/for_dates.sql', { alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table) }),
    { start_date: { type: 'DATE', value: start }, end_date: { type: 'DATE', value: end } },
    { ...context, sqlFile: 'alerts/for_dates.sql' },
  );
  return rows.map((row) => JSON.parse(String(row.payload)) as Alert);
}
