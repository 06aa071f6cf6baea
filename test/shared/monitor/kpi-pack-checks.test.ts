/**
 * The KPI pack's checks (config/kpis_config.json, config/custom/*_check.sql) on the real DuckDB
 * engine, over tables the ETL built from generated events: DN retention judged per cohort on the
 * day it becomes final, as a ratio with min_denominator, its alert showing numerator and
 * denominator.
 */
import { loadKpiChecks, type KpiCheck } from '../../../shared/config/kpi-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { checkKpis } from '../../../shared/monitor/kpi-monitor';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row } from '../../../shared/warehouse/warehouse';
import { context, etlDeps, openMemoryWarehouse, shippedJob, SOURCE } from '../../helpers/warehouse';

const FIRST = '2026-10-15';
const LAST = '2026-11-26';
/** A cohort of 12: one user back on day 1 (8%) is noise, not news. */
const SMALL_COHORT = '2026-11-24';
/** A cohort of 200 of whom 40 come back on day 1 (20%), where earlier cohorts kept 80 (40%). */
const BAD_COHORT = '2026-11-25';

/** Each day a cohort installs (one event each); `returning` of them play again the next day. */
function history(): Row[] {
  const rows: Row[] = [];
  for (const day of daysBetween(FIRST, LAST)) {
    const size = day === SMALL_COHORT ? 12 : 200;
    const returning = day === SMALL_COHORT ? 1 : day === BAD_COHORT ? 40 : 80;
    for (let i = 0; i < size; i += 1) {
      const user = `${day}-${i}`;
      rows.push({ user_id: user, time: new Date(`${day}T10:00:00Z`), event_name: 'session_start', coins_added: null });
      if (i < returning)
        rows.push({
          user_id: user,
          time: new Date(`${addDays(day, 1)}T10:00:00Z`),
          event_name: 'session_start',
          coins_added: null,
        });
    }
  }
  return rows;
}

let warehouse: DuckDbWarehouse;
beforeAll(async () => {
  warehouse = await openMemoryWarehouse();
  await appendEvents(warehouse, SOURCE, history(), context);
  const { result } = await runEtl(etlDeps(warehouse, '2026-11-27T06:00:00Z'), shippedJob, {
    range: { start: FIRST, end: LAST },
    runId: 'history',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
});
afterAll(() => warehouse.close());

const shipped = (name: string): KpiCheck => loadKpiChecks().find((check) => check.name === name) as KpiCheck;

test('D1 of a cohort of 12 gives no verdict on the day it becomes final, however low', async () => {
  const results = await checkKpis(warehouse, [shipped('retention')], [addDays(SMALL_COHORT, 1)], context);
  const d1 = results.find((result) => result.segment === 'D1');
  expect(d1).toMatchObject({ verdict: 'no_verdict', raise_flag: false, metric: 1 / 12 });
  expect(d1?.message).toBe(
    'retention[D1] on 2026-11-25: 0.0833 (1 / 12): a denominator below min_denominator (50), no verdict',
  );
});

test('D1 of a cohort of 200 falling from 40% to 20% raises the next day, against the D1 of earlier cohorts', async () => {
  const results = await checkKpis(warehouse, [shipped('retention')], [addDays(BAD_COHORT, 1)], context);
  const d1 = results.find((result) => result.segment === 'D1');
  expect(d1).toMatchObject({ verdict: 'raised', metric: 0.2, previous_metric: 0.4, change: -0.5 });
  expect(d1?.message).toMatch(
    /^retention\[D1\] on 2026-11-26: 0\.2 \(40 \/ 200\) against 0\.4 \(median of \d earlier Thursdays\), -50\.0% against ±25\.0% \(drop\)/,
  );
  // D7 of the cohort of 11-19 (nobody plays on day 7): 0 against 0, no change.
  expect(results.find((result) => result.segment === 'D7')).toMatchObject({
    verdict: 'ok',
    metric: 0,
    previous_metric: 0,
  });
});

test('every check of the pack runs on the tables the ETL built, without an error', async () => {
  const pack = ['retention', 'revenue', 'arpdau', 'conversion', 'stickiness', 'sessions_per_dau'].map(shipped);
  const results = await checkKpis(warehouse, pack, [LAST], context);
  expect(results.filter((result) => result.verdict === 'error')).toEqual([]);
  expect(new Set(results.map((result) => result.check))).toEqual(
    new Set(['retention', 'revenue', 'arpdau', 'conversion', 'stickiness', 'sessions_per_dau']),
  );
});
