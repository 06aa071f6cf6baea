/**
 * The local fan-out end to end: a trigger published over HTTP to the router reaches etl, whose
 * completion event reaches both monitors, whose alerts land in the alerts topic file.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../../functions/local';
import type { Alert } from '../../shared/alerts/alert';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import { RouterPublisher } from '../../shared/messaging/router-publisher';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEAD_LETTER_TOPIC, LocalRouter, pushEndpoint } from '../../shared/local/router';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, shippedJob as job, SOURCE } from '../helpers/warehouse';
import { parseSettings } from '../../shared/settings';

const NOW = '2026-11-27T06:00:00.000Z';
let dir: string;
let stack: LocalStack;
let warehouse: Warehouse;

beforeAll(async () => {
  // Two folders of this test's own above the topics: the refused topics climb up to two, and no
  // other test's temp folders may come and go there (the suite runs two workers).
  dir = path.join(tempDir(), 'up', 'topics');
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_PUBLISHER: 'local',
  };
  stack = await startLocalStack({
    ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 },
    settings: parseSettings({}, env),
    env,
    clock: () => new Date(NOW),
    logger: silentLogger,
    pubsub: 'router',
    maxAttempts: 2,
    retryDelayMs: 10,
  });
  warehouse = (await stack.runtime.ports()).warehouse;
  await appendEvents(
    warehouse,
    SOURCE,
    historyWithAnomalies('2026-11-27', 56, { '2026-11-26': 'new_users_spike' }),
    context,
  );
  await runEtl({ warehouse, clock: () => new Date(NOW), logger: silentLogger }, job, {
    range: { start: '2026-10-03', end: '2026-11-27' },
    runId: 'history',
    username: 'test',
  });
});
afterAll(async () => {
  await stack.close();
});

const messages = (topic: string) => topicMessages(dir, topic);
const jobsOf = async (uids: string[]) =>
  (
    await warehouse.query('SELECT uid, job_name, log_type FROM logs.daily_logs ORDER BY ts, step_id', {}, context)
  ).filter((row) => uids.includes(String(row.uid)));

test('trigger -> etl -> completion -> kpi-monitor and log-monitor -> alerts', async () => {
  const messageId = await new RouterPublisher(stack.routerUrl).publish(TOPICS.trigger, { days_back: 1 });
  await stack.router?.idle();
  expect(messages(TOPICS.trigger).map((m) => m.message_id)).toEqual([messageId]);
  const [completion] = messages(TOPICS.completed);
  expect(completion?.data).toMatchObject({
    run_id: `etl-${messageId}`,
    status: 'succeeded',
    dates: ['2026-11-26', '2026-11-27'],
  });
  const alerts = messages(TOPICS.alerts)
    .map((m) => (m.data as Alert).alert_id)
    .sort();
  // The new users' spike also moves the KPI pack's ratios: revenue and first payers per user fall, DAU / MAU rises.
  expect(alerts).toEqual([
    'kpi:arpdau:2026-11-26',
    'kpi:conversion:2026-11-26',
    'kpi:dau:2026-11-26',
    'kpi:events:2026-11-26',
    'kpi:events_by_name:session_start:2026-11-26',
    'kpi:installs:2026-11-26',
    'kpi:stickiness:2026-11-26',
  ]);
  const completionId = completion?.message_id as string;
  const rows = await jobsOf([`etl-${messageId}`, `kpi-monitor-${completionId}`, `log-monitor-${completionId}`]);
  expect(new Set(rows.map((row) => `${row.job_name}:${row.log_type}`))).toEqual(
    new Set([
      'daily_kpis:start',
      'daily_kpis:info',
      'daily_kpis:end',
      'kpi_monitor:start',
      'kpi_monitor:end',
      'log_monitor:start',
      'log_monitor:end',
    ]),
  );
  expect(messages(DEAD_LETTER_TOPIC)).toEqual([]);
});

test('a failed ETL run reaches the monitors as pipeline alerts; a missing source is permanent, so the trigger is not retried', async () => {
  await warehouse.query('ALTER TABLE gamepltx.fact RENAME TO fact_away', {}, context);
  try {
    const before = messages(TOPICS.alerts).length;
    const messageId = await new RouterPublisher(stack.routerUrl).publish(TOPICS.trigger, { date: '2026-11-25' });
    await stack.router?.idle();
    // One delivery, acknowledged after publishing its failed completion event.
    const failed = messages(TOPICS.completed).filter(
      (m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`,
    );
    expect(failed.map((m) => [m.attributes.status, (m.data as { status: string }).status])).toEqual([
      ['failed', 'failed'],
    ]);
    expect((failed[0]?.data as { error: string }).error).toMatch(/fact/);
    // Each alert once, although the monitors saw two completion events.
    const added = messages(TOPICS.alerts)
      .slice(before)
      .map((m) => (m.data as Alert).alert_id)
      .sort();
    expect(added).toEqual([
      'pipeline:daily_kpis:failed_run:2026-11-25',
      'pipeline:daily_kpis_etl:failed_run:2026-11-27',
    ]);
    expect(messages(DEAD_LETTER_TOPIC)).toEqual([]);
  } finally {
    await warehouse.query('ALTER TABLE gamepltx.fact_away RENAME TO fact', {}, context);
  }
});

test('a function that keeps failing transiently has its message retried, then dead-lettered', async () => {
  const subscriber = await new Promise<import('node:http').Server>((resolve) => {
    const server = createServer((_request, response) => {
      response.writeHead(503).end();
    }).listen(0, '127.0.0.1', () => resolve(server));
  });
  const router = new LocalRouter({
    topicsDir: dir,
    clock: () => new Date(NOW),
    logger: silentLogger,
    subscriptions: [
      {
        name: 'flaky',
        topic: 'flaky-topic',
        endpoint: pushEndpoint(
          `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`,
          'local-project',
          'flaky-topic',
        ),
      },
    ],
    maxAttempts: 3,
    retryDelayMs: 1,
  });
  try {
    await router.publish('flaky-topic', { n: 1 });
    await router.idle();
    expect(messages(DEAD_LETTER_TOPIC)).toEqual([
      expect.objectContaining({
        data: { n: 1 },
        attributes: expect.objectContaining({
          CloudPubSubDeadLetterSourceSubscription: 'flaky',
          CloudPubSubDeadLetterSourceDeliveryCount: '3',
        }),
      }),
    ]);
  } finally {
    await new Promise((resolve) => subscriber.close(resolve));
  }
});

test('the router answers the Pub/Sub REST publish call, and refuses what is not one', async () => {
  const response = await fetch(`${stack.routerUrl}/v1/projects/any/topics/${TOPICS.heartbeat}:publish`, {
    method: 'POST',
    body: JSON.stringify({
      messages: [{ data: Buffer.from('{}').toString('base64'), attributes: { origin: 'curl' } }],
    }),
  });
  expect(response.status).toBe(200);
  const { messageIds } = (await response.json()) as { messageIds: string[] };
  await stack.router?.idle();
  expect(messages(TOPICS.heartbeat).at(-1)).toMatchObject({
    message_id: messageIds[0],
    data: {},
    attributes: { origin: 'curl' },
  });
  expect((await fetch(`${stack.routerUrl}/anything`)).status).toBe(404);
});

describe('the router refuses a topic that is not a Pub/Sub name and a body that is not a publish request, writing nothing', () => {
  const valid = JSON.stringify({ messages: [{ data: Buffer.from('{}').toString('base64') }] });
  test.each([
    ['a topic that climbs out of the topics folder', '..%2Fescaped', valid],
    ['a topic that climbs two folders up', '..%2F..%2Fescaped', valid],
    ['an encoded slash', 'a%2Fb%2Fc', valid],
    ['a topic starting with goog', 'google-topic', valid],
    ['a topic too short', 'ab', valid],
    ['a broken escape', 'abc%E0%A4%A', valid],
    ['a body that is not JSON', 'daily-kpis-heartbeat', 'nope'],
    ['no messages', 'daily-kpis-heartbeat', '{"messages": []}'],
    ['a message that is not an object', 'daily-kpis-heartbeat', '{"messages": [1]}'],
    ['data that is not base64', 'daily-kpis-heartbeat', '{"messages": [{"data": "{}"}]}'],
    ['attributes that are not strings', 'daily-kpis-heartbeat', '{"messages": [{"data": "", "attributes": {"n": 1}}]}'],
  ])('%s', async (_name, topic, body) => {
    const folders = [dir, path.dirname(dir), path.dirname(path.dirname(dir))];
    const before = folders.map((folder) => readdirSync(folder).sort());
    const response = await fetch(`${stack.routerUrl}/v1/projects/any/topics/${topic}:publish`, {
      method: 'POST',
      body,
    });
    expect(response.status).toBe(400);
    expect(folders.map((folder) => readdirSync(folder).sort())).toEqual(before);
  });
});
