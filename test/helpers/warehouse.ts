/** Real DuckDB warehouses for tests, and readers that dump tables in a stable order. */
import { builtinTableNames, loadEtlConfig } from '../../shared/config/etl-config';
import { loadKpiChecks, type KpiCheck } from '../../shared/config/kpi-checks';
import type { Logger } from '../../shared/log';
import { silentLogger } from '../../shared/log';
import { appendEvents } from '../../shared/events/load-events';
import type { DateRange } from '../../shared/dates';
import { runEtl } from '../../shared/etl/run-etl';
import { kpiTable, sourceTable, type TableSchema } from '../../shared/schema';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Row } from '../../shared/warehouse/warehouse';

/** The shipped config, examples included. */
export const shippedJob = loadEtlConfig();

/**
 * The shipped config's three built-in tables only: what most tests build, so their expectations
 * stay about the built-in tables (the shipped examples have tests of their own).
 */
export const job = {
  ...shippedJob,
  tables: shippedJob.tables.filter((table) => builtinTableNames().includes(table.name)),
};

/** The shipped checks of the built-in series only, for the same reason. */
export const builtinChecks = (): KpiCheck[] => loadKpiChecks().filter((check) => check.metric !== null);

/** A configured table of the shipped config, as the warehouse creates it. */
export function configuredTable(name: string): TableSchema {
  const definition = shippedJob.tables.find((table) => table.name === name);
  if (!definition) throw new Error(`the shipped config has no table ${name}`);
  return kpiTable(definition);
}
export const context = { job: 'daily_kpis', runId: 'test-run' };
export const SOURCE = sourceTable('gamepltx', 'fact');

export function openMemoryWarehouse(): Promise<DuckDbWarehouse> {
  return DuckDbWarehouse.open(':memory:');
}

export interface Event {
  user_id: string;
  time: string;
  event_name?: string | null;
  coins_added?: number | null;
}

export async function insertEvents(warehouse: DuckDbWarehouse, events: Event[]): Promise<void> {
  const rows: Row[] = events.map((e) => ({
    user_id: e.user_id,
    time: new Date(e.time),
    event_name: e.event_name ?? null,
    coins_added: e.coins_added ?? null,
  }));
  await appendEvents(warehouse, SOURCE, rows, context);
}

export interface KpiTables {
  installs: Row[];
  last_activity: Row[];
  daily_user_panel: Row[];
}

export async function dumpKpiTables(warehouse: DuckDbWarehouse): Promise<KpiTables> {
  return {
    installs: await warehouse.query(
      'SELECT user_id, install_date FROM daily_kpis.installs ORDER BY user_id',
      {},
      context,
    ),
    last_activity: await warehouse.query(
      'SELECT user_id, last_activity FROM daily_kpis.last_activity ORDER BY user_id',
      {},
      context,
    ),
    daily_user_panel: await warehouse.query(
      'SELECT user_id, date, total_events, total_coins_added FROM daily_kpis.daily_user_panel ORDER BY date, user_id',
      {},
      context,
    ),
  };
}

/** Independently computed from all events in the window: what the KPI tables must hold after any set of runs that covers it. */
export async function expectedFromSource(warehouse: DuckDbWarehouse, start: string, end: string): Promise<KpiTables> {
  const window = `FROM gamepltx.fact WHERE CAST(time AS DATE) BETWEEN DATE '${start}' AND DATE '${end}'`;
  return {
    installs: await warehouse.query(
      `SELECT user_id, MIN(CAST(time AS DATE)) AS install_date ${window} GROUP BY user_id ORDER BY user_id`,
      {},
      context,
    ),
    last_activity: await warehouse.query(
      `SELECT user_id, MAX(CAST(time AS DATE)) AS last_activity ${window} GROUP BY user_id ORDER BY user_id`,
      {},
      context,
    ),
    daily_user_panel: await warehouse.query(
      `SELECT user_id, CAST(time AS DATE) AS date, COUNT(*) AS total_events, SUM(COALESCE(coins_added, 0)) AS total_coins_added ${window} GROUP BY 1, 2 ORDER BY date, user_id`,
      {},
      context,
    ),
  };
}

export function etlDeps(warehouse: DuckDbWarehouse, now = '2026-11-27T06:00:00Z', logger: Logger = silentLogger) {
  return { warehouse, clock: () => new Date(now), logger };
}

/** A DuckDB file holding `events` and the built-in KPI tables of `range` built from them: where a CLI test starts. */
export async function buildHistoryFile(
  file: string,
  events: Row[],
  range: DateRange,
  now = '2026-11-27T06:00:00Z',
): Promise<void> {
  const duckdb = await DuckDbWarehouse.open(file);
  try {
    await duckdb.ensureTable(SOURCE);
    await appendEvents(duckdb, SOURCE, events, context);
    const built = await runEtl(etlDeps(duckdb, now), job, { range, runId: 'build', username: 'tester' });
    if (built.failure) throw built.failure;
  } finally {
    await duckdb.close();
  }
}
