/**
 * Segmented checks on the real DuckDB engine: each segment judged on its own series, a segment
 * outage raised while the total stays quiet, a lost segment, max_segments and (other).
 */
import { loadKpiChecks, type KpiCheck } from '../../../shared/config/kpi-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher } from '../../../shared/messaging/publisher';
import { checkKpis, runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row } from '../../../shared/warehouse/warehouse';
import { tempDir, topicMessages } from '../../helpers/history';
import { builtinChecks, context, etlDeps, openMemoryWarehouse, shippedJob, SOURCE } from '../../helpers/warehouse';

const TODAY = '2026-11-27';
const CHECKED = '2026-11-26';
const NOW = '2026-11-27T06:00:00.000Z';

/** Per day: 500 android and 500 ios events and 100 web ones, spread over 100 users; `day` changes one day. */
function history(day: (date: string) => Record<string, number> | null): Row[] {
  const rows: Row[] = [];
  for (const date of daysBetween(addDays(TODAY, -42), addDays(TODAY, -1))) {
    const counts = day(date) ?? { android: 500, ios: 500, web: 100 };
    for (const [name, count] of Object.entries(counts)) {
      for (let i = 0; i < count; i += 1)
        rows.push({
          user_id: `u${i % 100}`,
          time: new Date(`${date}T${String(i % 24).padStart(2, '0')}:00:00Z`),
          event_name: name,
          coins_added: null,
        });
    }
  }
  return rows;
}

async function warehouseWith(rows: Row[]): Promise<DuckDbWarehouse> {
  const warehouse = await openMemoryWarehouse();
  await appendEvents(warehouse, SOURCE, rows, context);
  const { result } = await runEtl(etlDeps(warehouse, NOW), shippedJob, {
    range: { start: addDays(TODAY, -42), end: addDays(TODAY, -1) },
    runId: 'history',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
  return warehouse;
}

/** The shipped segmented check (its SQL reads the raw events), with options changed. */
function segmentedCheck(extra: Record<string, unknown> = {}): KpiCheck {
  const shipped = loadKpiChecks().find((check) => check.name === 'events_by_name') as KpiCheck;
  return { ...shipped, min_value: 0, ...extra } as KpiCheck;
}

const events = builtinChecks().filter((check) => check.name === 'events');

describe('a segment outage the total does not show', () => {
  let warehouse: DuckDbWarehouse;
  beforeAll(async () => {
    // Android drops 60% and iOS grows as much; web is gone: the total moves by 9%, under events' 15%.
    warehouse = await warehouseWith(history((date) => (date === CHECKED ? { android: 200, ios: 800 } : null)));
  });
  afterAll(() => warehouse.close());

  test('each segment raises on its own series; the total check stays quiet', async () => {
    const results = await checkKpis(warehouse, [...events, segmentedCheck()], [CHECKED], context);
    const byLabel = Object.fromEntries(
      results.map((result) => [result.segment === null ? result.check : `${result.check}[${result.segment}]`, result]),
    );
    expect(byLabel.events).toMatchObject({ verdict: 'ok', metric: 1000, previous_metric: 1100 });
    expect(byLabel['events_by_name[android]']).toMatchObject({
      verdict: 'raised',
      metric: 200,
      previous_metric: 500,
      change: -0.6,
      segment: 'android',
      severity: 'warn',
    });
    expect(byLabel['events_by_name[ios]']).toMatchObject({
      verdict: 'raised',
      metric: 800,
      previous_metric: 500,
      change: 0.6,
    });
    expect(byLabel['events_by_name[web]']).toMatchObject({ verdict: 'raised', metric: 0, severity: 'error' });
    expect(byLabel['events_by_name[web]']?.message).toBe(
      'events_by_name[web] on 2026-11-26: no rows on this day after rows on each of the 28 days before it (segment lost)',
    );
  });

  test('the alerts carry their segment, and their ids tell the segments apart', async () => {
    const dir = tempDir();
    const outcome = await runKpiMonitor(
      {
        warehouse,
        publisher: new LocalTopicPublisher(dir, () => new Date(NOW)),
        slackWebhook: async () => null,
        clock: () => new Date(NOW),
        logger: silentLogger,
      },
      [segmentedCheck()],
      { dates: [CHECKED], runId: 'segments', username: 'test' },
    );
    expect(outcome.alerts.map((alert) => [alert.alert_id, alert.segment])).toEqual([
      ['kpi:events_by_name:android:2026-11-26', 'android'],
      ['kpi:events_by_name:ios:2026-11-26', 'ios'],
      ['kpi:events_by_name:web:2026-11-26', 'web'],
    ]);
    expect(
      topicMessages(dir, 'daily-kpis-alerts').map((message) => (message.data as { segment: string }).segment),
    ).toEqual(['android', 'ios', 'web']);
  });

  test('max_segments keeps the largest by volume over the training window; the rest are judged together as (other)', async () => {
    const results = await checkKpis(warehouse, [segmentedCheck({ max_segments: 2 })], [CHECKED], context);
    expect(results.map((result) => [result.segment, result.verdict])).toEqual([
      ['android', 'raised'],
      ['ios', 'raised'],
      ['(other)', 'raised'],
    ]);
  });

  test('min_value is a floor per segment: a change smaller than it never raises', async () => {
    const results = await checkKpis(warehouse, [segmentedCheck({ min_value: 400 })], [CHECKED], context);
    expect(results.map((result) => [result.segment, result.verdict])).toEqual([
      ['android', 'ok'],
      ['ios', 'ok'],
      ['web', 'raised'],
    ]);
  });
});

test('a steady history raises nothing in any segment, and a day without events raises once for the whole check', async () => {
  const warehouse = await warehouseWith(history((date) => (date === CHECKED ? {} : null)));
  try {
    const steady = await checkKpis(warehouse, [segmentedCheck()], [addDays(CHECKED, -1)], context);
    expect(steady.map((result) => [result.segment, result.verdict])).toEqual([
      ['android', 'ok'],
      ['ios', 'ok'],
      ['web', 'ok'],
    ]);
    const lost = await checkKpis(warehouse, [segmentedCheck()], [CHECKED], context);
    expect(lost).toEqual([
      expect.objectContaining({
        segment: null,
        verdict: 'raised',
        severity: 'error',
        message:
          'events_by_name on 2026-11-26: no events at all on this day: the source lost it or the ETL did not build it',
      }),
    ]);
  } finally {
    await warehouse.close();
  }
});
