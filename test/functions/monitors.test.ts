/** kpiMonitor and logMonitor over HTTP: completion events and heartbeats in, alerts out. */
import path from 'node:path';
import type { Alert } from '../../shared/alerts/alert';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl, type EtlResult } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, shippedJob as job, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: FunctionRuntime;
let warehouse: Warehouse;

function completion(fields: Partial<EtlResult> = {}): EtlResult {
  return {
    run_id: 'etl-123',
    job_name: 'daily_kpis',
    status: 'succeeded',
    start_date: '2026-11-26',
    end_date: '2026-11-27',
    dates: ['2026-11-26', '2026-11-27'],
    tables: [
      'daily_kpis.daily_user_panel',
      'daily_kpis.installs',
      'daily_kpis.last_activity',
      'daily_kpis.daily_coins',
    ],
    error: null,
    started_at: NOW,
    finished_at: NOW,
    dry_run: false,
    ...fields,
  };
}

const alerts = () =>
  topicMessages(dir, TOPICS.alerts).map((message) => ({ ...(message.data as Alert), attributes: message.attributes }));
const runLog = (uid: string) =>
  warehouse.query(
    'SELECT job_name, log_type FROM logs.daily_logs WHERE uid = @uid ORDER BY step_id',
    { uid: { type: 'STRING', value: uid } },
    context,
  );

beforeAll(async () => {
  dir = tempDir();
  env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
  };
  runtime = useFunctionRuntime(env);
  warehouse = (await runtime.ports()).warehouse;
  await appendEvents(
    warehouse,
    SOURCE,
    historyWithAnomalies('2026-11-27', 56, { '2026-11-26': 'new_users_spike' }),
    context,
  );
  const { result } = await runEtl({ warehouse, clock: () => new Date(NOW), logger: silentLogger }, job, {
    range: { start: '2026-10-03', end: '2026-11-27' },
    runId: 'etl-123',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
});
afterAll(async () => {
  await runtime.close();
});

describe('kpiMonitor', () => {
  test("checks the run's complete days, not the day in progress, and publishes each alert once", async () => {
    const event = pubsubEvent(completion(), { publishTime: NOW, topic: TOPICS.completed });
    expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
    const raised = alerts();
    // The new users' spike also moves the KPI pack's ratios: revenue and first payers per user fall, DAU / MAU rises.
    expect(raised.map((alert) => alert.alert_id).sort()).toEqual([
      'kpi:arpdau:2026-11-26',
      'kpi:conversion:2026-11-26',
      'kpi:dau:2026-11-26',
      'kpi:events:2026-11-26',
      'kpi:events_by_name:session_start:2026-11-26',
      'kpi:installs:2026-11-26',
      'kpi:stickiness:2026-11-26',
    ]);
    expect(raised[0]).toMatchObject({
      run_id: `kpi-monitor-${event.messageId}`,
      attributes: { kind: 'kpi', severity: 'warn' },
    });
    expect(await runLog(`kpi-monitor-${event.messageId}`)).toEqual([
      { job_name: 'kpi_monitor', log_type: 'start' },
      { job_name: 'kpi_monitor', log_type: 'end' },
    ]);
    // Delivered again, or the ETL's completion published again: nothing new goes out.
    expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
    expect(
      await withFunctionServer('kpiMonitor', (url) => post(url, pubsubEvent(completion(), { publishTime: NOW }))),
    ).toBe(204);
    expect(alerts()).toHaveLength(7);
  });

  test('a failed run raises one pipeline alert instead of checking stale KPIs', async () => {
    const before = alerts().length;
    const failed = completion({
      status: 'failed',
      error: 'Binder Error: Table gamepltx.fact does not exist',
      run_id: 'etl-failed',
    });
    expect(await withFunctionServer('kpiMonitor', (url) => post(url, pubsubEvent(failed, { publishTime: NOW })))).toBe(
      204,
    );
    const added = alerts().slice(before);
    expect(added).toEqual([
      expect.objectContaining({
        alert_id: 'pipeline:daily_kpis:failed_run:2026-11-27',
        kind: 'pipeline',
        check: 'daily_kpis',
        method: 'failed_run',
        severity: 'error',
        message:
          'daily_kpis: ETL run etl-failed for 2026-11-26..2026-11-27 failed: Binder Error: Table gamepltx.fact does not exist',
        attributes: { kind: 'pipeline', check: 'daily_kpis', severity: 'error' },
      }),
    ]);
  });

  test('a run that started before midnight and ended after it does not judge the day it started in', async () => {
    const before = alerts().length;
    const late = completion({
      run_id: 'etl-late',
      start_date: '2026-11-26',
      end_date: '2026-11-26',
      dates: ['2026-11-26'],
      started_at: '2026-11-26T23:50:00.000Z',
      finished_at: '2026-11-27T00:10:00.000Z',
    });
    const event = pubsubEvent(late, { publishTime: '2026-11-27T00:10:01.000Z' });
    expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
    expect(alerts()).toHaveLength(before);
    expect(await runLog(`kpi-monitor-${event.messageId}`)).toEqual([]);
  });

  test('a dry run, or a run of today only, has nothing to check', async () => {
    const before = alerts().length;
    const dry = pubsubEvent(completion({ dry_run: true }), { publishTime: NOW });
    const todayOnly = pubsubEvent(completion({ start_date: '2026-11-27', dates: ['2026-11-27'] }), {
      publishTime: NOW,
    });
    expect(
      await withFunctionServer('kpiMonitor', async (url) => [await post(url, dry), await post(url, todayOnly)]),
    ).toEqual([204, 204]);
    expect(alerts()).toHaveLength(before);
    expect(await runLog(`kpi-monitor-${dry.messageId}`)).toEqual([]);
  });

  test.each([
    ['not a completion event', { days_back: 1 }],
    ['a bad status', { ...completion(), status: 'done' }],
    ['a missing field', { ...completion(), dates: undefined }],
  ])('%s is acknowledged with nothing written', async (_name, data) => {
    const before = alerts().length;
    const event = pubsubEvent(JSON.parse(JSON.stringify(data)), { publishTime: NOW });
    expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
    expect(alerts()).toHaveLength(before);
    expect(await runLog(`kpi-monitor-${event.messageId}`)).toEqual([]);
  });

  test('a missing table breaks only the checks that read it: each raises one pipeline alert, the others run, the message is acknowledged', async () => {
    await warehouse.query('ALTER TABLE daily_kpis.installs RENAME TO installs_away', {}, context);
    try {
      const before = alerts().length;
      const event = pubsubEvent(completion({ run_id: 'etl-other' }), { publishTime: NOW });
      expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(204);
      expect((await runLog(`kpi-monitor-${event.messageId}`)).map((row) => row.log_type)).toEqual(['start', 'end']);
      const failed = alerts()
        .slice(before)
        .filter((alert) => alert.kind === 'pipeline');
      expect(failed.map((alert) => alert.alert_id).sort()).toEqual([
        'pipeline:installs:check_failed:2026-11-26',
        'pipeline:last_activity:check_failed:2026-11-26',
      ]);
    } finally {
      await warehouse.query('ALTER TABLE daily_kpis.installs_away RENAME TO installs', {}, context);
    }
  });

  test('an alert the broker does not take is a transient failure: the function fails, so Pub/Sub delivers the message again', async () => {
    await runtime.close();
    runtime = useFunctionRuntime({ ...env, KPIS_PUBLISHER: 'router:http://127.0.0.1:9' });
    try {
      const failed = completion({
        run_id: 'etl-unpublished',
        status: 'failed',
        error: 'boom',
        dates: ['2026-11-20'],
        start_date: '2026-11-20',
        end_date: '2026-11-20',
      });
      const event = pubsubEvent(failed, { publishTime: NOW });
      expect(await withFunctionServer('kpiMonitor', (url) => post(url, event))).toBe(500);
    } finally {
      await runtime.close();
      runtime = useFunctionRuntime(env);
      warehouse = (await runtime.ports()).warehouse;
    }
  });
});

describe('logMonitor', () => {
  test('the heartbeat checks the run log: the ETL ran at 06:00, so nothing raises', async () => {
    const before = alerts().length;
    const event = pubsubEvent({}, { publishTime: NOW, topic: TOPICS.heartbeat });
    expect(await withFunctionServer('logMonitor', (url) => post(url, event))).toBe(204);
    expect(alerts()).toHaveLength(before);
    expect(await runLog(`log-monitor-${event.messageId}`)).toEqual([
      { job_name: 'log_monitor', log_type: 'start' },
      { job_name: 'log_monitor', log_type: 'end' },
    ]);
  });

  test('a completion event triggers the same checks; bad messages are acknowledged with nothing written', async () => {
    const events = [
      pubsubEvent(completion(), { publishTime: NOW, topic: TOPICS.completed }),
      pubsubEvent({ hello: 'world' }, { publishTime: NOW }),
      pubsubEvent('not json', { publishTime: NOW }),
    ];
    const statuses = await withFunctionServer('logMonitor', async (url) => {
      const codes: number[] = [];
      for (const event of events) codes.push(await post(url, event));
      return codes;
    });
    expect(statuses).toEqual([204, 204, 204]);
    const logged = await Promise.all(events.map((event) => runLog(`log-monitor-${event.messageId}`)));
    expect(logged.map((rows) => rows.length)).toEqual([2, 0, 0]);
  });
});

describe('a run log dropped under a warm instance', () => {
  test('log-monitor still checks (and raises no_run), recreating the table; the etl function then runs as usual', async () => {
    // Warm the instance: every table is ensured and remembered.
    expect(
      await withFunctionServer('logMonitor', (url) =>
        post(url, pubsubEvent({}, { publishTime: NOW, topic: TOPICS.heartbeat })),
      ),
    ).toBe(204);
    await warehouse.query('DROP TABLE logs.daily_logs', {}, context);

    const before = alerts().length;
    const heartbeat = pubsubEvent({}, { publishTime: NOW, topic: TOPICS.heartbeat });
    expect(await withFunctionServer('logMonitor', (url) => post(url, heartbeat))).toBe(204);
    expect(
      alerts()
        .slice(before)
        .map((alert) => alert.alert_id),
    ).toEqual(['pipeline:daily_kpis_etl:no_run:2026-11-27']);
    expect(await runLog(`log-monitor-${heartbeat.messageId}`)).toEqual([
      { job_name: 'log_monitor', log_type: 'start' },
      { job_name: 'log_monitor', log_type: 'end' },
    ]);

    await warehouse.query('DROP TABLE logs.daily_logs', {}, context);
    const trigger = pubsubEvent({ date: '2026-11-26' }, { publishTime: NOW });
    expect(await withFunctionServer('etl', (url) => post(url, trigger))).toBe(204);
    expect((await runLog(`etl-${trigger.messageId}`)).map((row) => row.log_type)).toEqual([
      'start',
      ...Array<string>(10).fill('info'),
      'end',
    ]);
  });

  test('log-monitor runs its checks even when it cannot record its own run', async () => {
    // A run log nobody can insert into: a view over an empty copy of it.
    await warehouse.query('ALTER TABLE logs.daily_logs RENAME TO daily_logs_real', {}, context);
    await warehouse.query('CREATE VIEW logs.daily_logs AS SELECT * FROM logs.daily_logs_real WHERE FALSE', {}, context);
    await warehouse.query(
      "DELETE FROM monitoring.alerts WHERE alert_id = 'pipeline:daily_kpis_etl:no_run:2026-11-27'",
      {},
      context,
    );
    try {
      const before = alerts().length;
      const heartbeat = pubsubEvent({}, { publishTime: NOW, topic: TOPICS.heartbeat });
      expect(await withFunctionServer('logMonitor', (url) => post(url, heartbeat))).toBe(204);
      expect(
        alerts()
          .slice(before)
          .map((alert) => alert.alert_id),
      ).toEqual(['pipeline:daily_kpis_etl:no_run:2026-11-27']);
    } finally {
      await warehouse.query('DROP VIEW logs.daily_logs', {}, context);
      await warehouse.query('ALTER TABLE logs.daily_logs_real RENAME TO daily_logs', {}, context);
    }
  });
});
