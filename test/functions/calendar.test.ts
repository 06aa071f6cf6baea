/** The kpiMonitor function over HTTP with a calendar ($KPIS_CALENDAR): a known campaign day is muted, recorded, and not published. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl, type EtlResult } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, job, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
const CAMPAIGN = '2026-11-26';
let dir: string;
let warehouse: Warehouse;
let runtime: FunctionRuntime;

const completion: EtlResult = {
  run_id: 'etl-calendar',
  job_name: 'daily_kpis',
  status: 'succeeded',
  start_date: CAMPAIGN,
  end_date: '2026-11-27',
  dates: [CAMPAIGN, '2026-11-27'],
  tables: ['daily_kpis.daily_user_panel', 'daily_kpis.installs', 'daily_kpis.last_activity'],
  error: null,
  started_at: NOW,
  finished_at: NOW,
  dry_run: false,
};

beforeAll(async () => {
  dir = tempDir();
  const kpis = path.join(dir, 'kpis_config.json');
  writeFileSync(
    kpis,
    JSON.stringify({
      kpis: {
        dau: { method: 'weekday', thresh_in_percent: 0.15 },
        installs: { method: 'weekday', thresh_in_percent: 0.3, min_value: 10 },
      },
    }),
  );
  const calendar = path.join(dir, 'calendar.json');
  writeFileSync(
    calendar,
    JSON.stringify({ entries: [{ date: CAMPAIGN, checks: 'all', kind: 'one_off', note: 'launch campaign' }] }),
  );
  runtime = useFunctionRuntime({
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_MONITOR_CONFIG: kpis,
    KPIS_CALENDAR: calendar,
  });
  warehouse = (await runtime.ports()).warehouse;
  await appendEvents(
    warehouse,
    SOURCE,
    historyWithAnomalies('2026-11-27', 42, { [CAMPAIGN]: 'new_users_spike' }),
    context,
  );
  const { result } = await runEtl({ warehouse, clock: () => new Date(NOW), logger: silentLogger }, job, {
    range: { start: '2026-10-17', end: '2026-11-27' },
    runId: 'etl-calendar',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
});

afterAll(() => runtime.close());

test('the campaign day raises dau and installs, muted: nothing on the alerts topic, both in the alert history with the note', async () => {
  const event = pubsubEvent(completion, { publishTime: NOW, topic: TOPICS.completed });
  expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
  expect(topicMessages(dir, TOPICS.alerts)).toEqual([]);
  const rows = await warehouse.query(
    "SELECT alert_id, channel, payload FROM monitoring.alerts WHERE channel = 'muted' ORDER BY alert_id",
    {},
    context,
  );
  expect(rows.map((row) => row.alert_id)).toEqual([`kpi:dau:${CAMPAIGN}`, `kpi:installs:${CAMPAIGN}`]);
  for (const row of rows)
    expect(JSON.parse(String(row.payload))).toMatchObject({ status: 'muted', note: 'launch campaign', date: CAMPAIGN });
  // Delivered again: nothing new recorded, nothing published.
  expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
  expect(
    await warehouse.query("SELECT alert_id FROM monitoring.alerts WHERE channel = 'muted'", {}, context),
  ).toHaveLength(2);
  expect(topicMessages(dir, TOPICS.alerts)).toEqual([]);
});
