/** The KPI monitor end to end on DuckDB: events -> ETL -> checks -> alerts on the local topic. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { addDays, daysBetween } from '../../../shared/dates';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { deliveryKey } from '../../../shared/alerts/alert';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { checkKpis, runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import { configuredTables } from '../../../shared/config/etl-config';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { historyWithAnomalies, poolHistory, tempDir, topicMessages } from '../../helpers/history';
import { builtinChecks, context, etlDeps, job, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

const TODAY = '2026-11-27';
const NOW = `${TODAY}T06:00:00Z`;
const ANOMALIES = {
  '2026-11-10': 'new_users_spike',
  '2026-11-14': 'returning_drop',
  '2026-11-19': 'empty',
  '2026-11-23': 'event_burst',
} as const;
const CHECKED = daysBetween('2026-11-03', '2026-11-26');
const checks = builtinChecks();

let warehouse: DuckDbWarehouse;

beforeAll(async () => {
  warehouse = await openMemoryWarehouse();
  await appendEvents(warehouse, SOURCE, historyWithAnomalies(TODAY, 56, ANOMALIES), context);
  const { result } = await runEtl(etlDeps(warehouse, NOW), job, {
    range: { start: addDays(TODAY, -55), end: TODAY },
    runId: 'etl-1',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
});

afterAll(() => warehouse.close());

// Every test starts with no alert sent: the history table is what makes a later run skip them.
beforeEach(() => warehouse.query('DELETE FROM monitoring.alerts', {}, context).catch(() => undefined));

function deps(dir: string) {
  return {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => new Date(NOW)),
    slackWebhook: async () => null,
    clock: () => new Date(NOW),
    logger: silentLogger,
  };
}

function raisedBy(results: { date: string; check: string; raise_flag: boolean }[]): Record<string, string[]> {
  const byDay: Record<string, string[]> = {};
  for (const result of results.filter((r) => r.raise_flag)) (byDay[result.date] ??= []).push(result.check);
  return byDay;
}

test('the default config raises each injected anomaly on its own day, and nothing on the steady days', async () => {
  const dir = tempDir();
  const outcome = await runKpiMonitor(deps(dir), checks, { dates: CHECKED, runId: 'monitor-1', username: 'test' });
  expect(outcome.results).toHaveLength(CHECKED.length * 4);
  expect(raisedBy(outcome.results)).toEqual({
    '2026-11-10': ['dau', 'installs', 'events'],
    '2026-11-14': ['dau', 'last_activity', 'events'],
    '2026-11-19': ['dau', 'installs', 'last_activity', 'events'],
    '2026-11-23': ['events'],
  });
  // Installs the day after the empty day hold that day's new users: said, not raised.
  expect(outcome.results.find((r) => r.date === '2026-11-20' && r.check === 'installs')).toMatchObject({
    verdict: 'no_verdict',
  });
  const empty = outcome.results.filter((r) => r.date === '2026-11-19');
  expect(empty.every((r) => r.metric === 0 && r.severity === 'error' && r.message.includes('no events at all'))).toBe(
    true,
  );
});

test('alerts go to the alerts topic in the contract, once per check and day, across runs', async () => {
  const dir = tempDir();
  const first = await runKpiMonitor(deps(dir), checks, { dates: CHECKED, runId: 'monitor-a', username: 'test' });
  // Each anomaly is a one-day incident: raised on its day, recovered on the next.
  expect(first.alerts).toHaveLength(22);
  expect(first.alerts.filter((alert) => alert.status === 'raised')).toHaveLength(11);
  expect(first.delivery.published).toEqual(first.alerts.map(deliveryKey));
  const messages = topicMessages(dir, TOPICS.alerts);
  expect(messages).toHaveLength(22);
  const spike = messages.find((m) => (m.data as { alert_id: string }).alert_id === 'kpi:installs:2026-11-10');
  expect(spike?.attributes).toEqual({ kind: 'kpi', check: 'installs', severity: 'warn', status: 'raised' });
  expect(spike?.data).toEqual({
    alert_id: 'kpi:installs:2026-11-10',
    kind: 'kpi',
    check: 'installs',
    segment: null,
    date: '2026-11-10',
    metric: expect.any(Number),
    previous_metric: expect.any(Number),
    change: expect.any(Number),
    threshold: 0.3,
    method: 'weekday',
    message: expect.stringContaining('installs on 2026-11-10'),
    table: 'daily_kpis.installs',
    run_id: 'monitor-a',
    raised_at: NOW.replace('Z', '.000Z'),
    severity: 'warn',
    // The two weeks up to the day, for Slack's sparkline: the raised value last.
    trend: expect.any(Array),
    status: 'raised',
    incident_id: 'kpi:installs:2026-11-10',
    incident_start: '2026-11-10',
    incident_days: 1,
    owner: [],
    channel: 'default',
    tags: [],
  });
  const trend = (spike?.data as { trend: number[]; metric: number }).trend;
  expect(trend).toHaveLength(14);
  expect(trend.at(-1)).toBe((spike?.data as { metric: number }).metric);

  // Pub/Sub delivers at least once: the same run again publishes nothing new.
  const again = await runKpiMonitor(deps(dir), checks, { dates: CHECKED, runId: 'monitor-b', username: 'test' });
  expect(again.alerts).toHaveLength(22);
  expect(again.delivery.published).toEqual([]);
  expect(again.delivery.already_published.sort()).toEqual(first.delivery.published.sort());
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(22);

  const history = await warehouse.query(
    "SELECT alert_id, channel, run_id FROM monitoring.alerts WHERE channel = 'pubsub' AND run_id IN ('monitor-a', 'monitor-b') ORDER BY alert_id",
    {},
    context,
  );
  expect(history).toHaveLength(22);
  expect(new Set(history.map((row) => row.run_id))).toEqual(new Set(['monitor-a']));
});

test('two runs at the same time publish each alert once', async () => {
  const dir = tempDir();
  const dates = ['2026-11-10', '2026-11-19'];
  const [a, b] = await Promise.all([
    runKpiMonitor(deps(dir), checks, { dates, runId: 'same-time-1', username: 'test' }),
    runKpiMonitor(deps(dir), checks, { dates, runId: 'same-time-2', username: 'test' }),
  ]);
  expect([...a.delivery.published, ...b.delivery.published].sort()).toEqual(
    a.alerts.map((alert) => alert.alert_id).sort(),
  );
  // The seven raised (a one-day incident each; the days after were not judged, so no recovery).
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(7);
});

test('each run writes its start and end rows to the run log', async () => {
  await runKpiMonitor(deps(tempDir()), checks, { dates: ['2026-11-26'], runId: 'logged-run', username: 'test' });
  const rows = await warehouse.query(
    "SELECT job_name, job_type, step_name, step_id, log_type, message FROM logs.daily_logs WHERE uid = 'logged-run' ORDER BY step_id",
    {},
    context,
  );
  expect(rows).toEqual([
    {
      job_name: 'kpi_monitor',
      job_type: 'monitor',
      step_name: 'start',
      step_id: 1,
      log_type: 'start',
      message: 'KPI checks for 2026-11-26: dau, installs, last_activity, events',
    },
    {
      job_name: 'kpi_monitor',
      job_type: 'monitor',
      step_name: 'end',
      step_id: 2,
      log_type: 'end',
      message: '4 checks for 2026-11-26: 0 raised, 0 published, Slack off',
    },
  ]);
});

test("a check whose table is missing is that check's result and one pipeline alert naming it; the other checks still run", async () => {
  const broken = checks.map((check) => ({
    ...check,
    table_id: check.metric === 'dau' ? 'no_such_table' : check.table_id,
  }));
  const dir = tempDir();
  const outcome = await runKpiMonitor(deps(dir), broken, {
    dates: ['2026-11-25', '2026-11-26'],
    runId: 'broken-run',
    username: 'test',
  });
  const failed = outcome.results.filter((result) => result.verdict === 'error');
  expect(failed).toEqual([
    expect.objectContaining({
      check: 'dau',
      date: '2026-11-26',
      raise_flag: true,
      severity: 'error',
      message: expect.stringMatching(
        /^dau: the check failed and was not judged \(monitors\/dau.sql\): .*no_such_table/s,
      ),
    }),
  ]);
  expect(outcome.results.filter((result) => result.check !== 'dau')).toHaveLength(6);
  expect(outcome.alerts.filter((alert) => alert.kind === 'pipeline').map((alert) => alert.alert_id)).toEqual([
    'pipeline:dau:check_failed:2026-11-26',
  ]);
  expect(topicMessages(dir, TOPICS.alerts).map((m) => (m.data as { alert_id: string }).alert_id)).toContain(
    'pipeline:dau:check_failed:2026-11-26',
  );
  const rows = await warehouse.query(
    "SELECT log_type, message FROM logs.daily_logs WHERE uid = 'broken-run' ORDER BY step_id",
    {},
    context,
  );
  expect(rows.map((row) => row.log_type)).toEqual(['start', 'end']);
  expect(String(rows[1]?.message)).toContain('(1 failed: dau)');
});

describe('another kind of steady history, with other seeds: each anomaly raised on its day, nothing else', () => {
  const anomalies = { 30: 'spike', 40: 'drop', 48: 'empty', 55: 'burst' } as const;
  const anomalyDays = Object.keys(anomalies).map((index) => addDays('2026-09-26', Number(index)));

  test.each([11, 12, 13])('seed %d', async (seed) => {
    const pool = await openMemoryWarehouse();
    try {
      await appendEvents(pool, SOURCE, poolHistory(seed, '2026-09-26', 63, anomalies), context);
      await runEtl(etlDeps(pool, NOW), job, {
        range: { start: '2026-09-26', end: '2026-11-27' },
        runId: 'pool-etl',
        username: 'test',
      });
      const dir = tempDir();
      const outcome = await runKpiMonitor({ ...deps(dir), warehouse: pool }, checks, {
        dates: daysBetween('2026-10-10', '2026-11-27'),
        runId: 'pool',
        username: 'test',
      });
      expect([...new Set(outcome.results.filter((r) => r.raise_flag).map((r) => r.date))]).toEqual(anomalyDays);
    } finally {
      await pool.close();
    }
  });
});

test("the seed's kpis_config.json runs as it is: its three checks judge the same KPIs, last_activity says what it watches", async () => {
  const file = path.join(tempDir(), 'kpis_config.json');
  const entry = (table: string) => ({
    dataset: 'daily_kpis',
    table_id: table,
    thresh_in_percent: 0.5,
    d1: 'previous',
    description: '',
    isEnable: true,
  });
  writeFileSync(
    file,
    JSON.stringify({
      daily_kpis: {
        kpis: { dau: entry('daily_user_panel'), installs: entry('installs'), last_activity: entry('last_activity') },
      },
    }),
  );
  const results = await checkKpis(warehouse, loadKpiChecks(file), ['2026-11-06'], context);
  expect(results.map((result) => [result.check, result.verdict])).toEqual([
    ['dau', 'ok'],
    ['installs', 'ok'],
    ['last_activity', 'ok'],
  ]);
  const builtin = await checkKpis(
    warehouse,
    checks.filter((check) => check.name === 'last_activity'),
    ['2026-11-06'],
    context,
  );
  expect(results[2]?.metric).toBe(builtin[0]?.metric);
  expect(results[2]?.message).toMatch(
    /\(table_id last_activity is not read: last_activity is watched as returning users, from daily_user_panel and installs \(README: Monitoring\)\)$/,
  );
});

test("a check in another dataset finds which days had events through the ETL config's daily user panel", async () => {
  await warehouse.query('CREATE SCHEMA IF NOT EXISTS analytics', {}, context);
  await warehouse.query(
    'CREATE OR REPLACE TABLE analytics.dau_copy AS SELECT date, COUNT(*) AS users FROM daily_kpis.daily_user_panel GROUP BY date',
    {},
    context,
  );
  const dir = tempDir();
  const file = path.join(dir, 'kpis_config.json');
  writeFileSync(
    file,
    JSON.stringify({
      kpis: {
        dau_elsewhere: {
          dataset: 'analytics',
          table_id: 'dau_copy',
          date_column: 'date',
          value: 'SUM(users)',
          method: 'pct_change',
        },
      },
    }),
  );
  const elsewhere = loadKpiChecks(file);
  const results = await checkKpis(warehouse, elsewhere, CHECKED, context, 'UTC', configuredTables(job));
  expect(results.filter((result) => result.verdict === 'error')).toEqual([]);
  // The day without events raises, as the built-in dau does: the panel said it had none.
  expect(results.filter((result) => result.raise_flag).map((result) => result.date)).toContain('2026-11-19');
  // Without the ETL config's tables, the panel is looked for in the check's own dataset, where there is none.
  const alone = await checkKpis(warehouse, elsewhere, CHECKED, context, 'UTC');
  expect(alone.map((result) => result.failure)).toEqual(['missing_table']);
});
