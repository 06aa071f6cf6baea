/**
 * The demo's planted KPI pack anomaly: on the latest complete day the iOS store breaks (its
 * purchases fail) while the install spike brings new buyers, so revenue per platform raises for
 * IOS although the all-users revenue does not. What `npm start` shows, on the real DuckDB engine.
 */
import { addDays, daysBetween } from '../../../shared/dates';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { generateDemoEvents } from '../../../shared/events/demo';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { checkKpis } from '../../../shared/monitor/kpi-monitor';
import { silentLogger } from '../../../shared/log';
import { context, openMemoryWarehouse, shippedJob, SOURCE } from '../../helpers/warehouse';

const TODAY = '2026-11-27';
const YESTERDAY = addDays(TODAY, -1);

test('the demo raises revenue_by_platform[IOS] on the latest complete day, and not the all-users revenue', async () => {
  const warehouse = await openMemoryWarehouse();
  try {
    await appendEvents(
      warehouse,
      SOURCE,
      generateDemoEvents({ today: TODAY, now: new Date(`${TODAY}T06:00:00Z`), days: 56 }),
      context,
    );
    const range = { start: addDays(TODAY, -55), end: TODAY };
    const outcome = await runEtl(
      { warehouse, clock: () => new Date(`${TODAY}T06:00:00Z`), logger: silentLogger },
      shippedJob,
      { range, runId: 'demo', username: 'test' },
    );
    if (outcome.failure) throw outcome.failure;
    const checks = loadKpiChecks().filter((check) => ['revenue', 'revenue_by_platform'].includes(check.name));
    const results = await checkKpis(warehouse, checks, daysBetween(addDays(YESTERDAY, -6), YESTERDAY), context, 'UTC');
    const raised = results
      .filter((result) => result.raise_flag)
      .map((result) => `${result.check}[${String(result.segment)}] ${result.date}`);
    expect(raised).toEqual([`revenue_by_platform[IOS] ${YESTERDAY}`]);
    const ios = results.find(
      (result) => result.check === 'revenue_by_platform' && result.segment === 'IOS' && result.date === YESTERDAY,
    );
    expect(ios?.metric).toBe(0);
  } finally {
    await warehouse.close();
  }
}, 120_000);
