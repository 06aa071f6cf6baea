/**
 * The chain through Google's Pub/Sub emulator (`gcloud beta emulators pubsub start`, started once
 * for this file): triggers published with the client library and with `gcloud pubsub topics
 * publish` build the tables in a real DuckDB warehouse, the completion event fans out to both
 * monitors through push subscriptions, and the alerts are pulled from the alerts topic. A monitor
 * that answers 500 gets the message again from the emulator, and publishes no alert twice.
 *
 * Then the home-made router and the emulator deliver the same message to the same recording
 * function, which fails it once: what the function received (HTTP and CloudEvent) must match.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub } from '@google-cloud/pubsub';
import { EMULATOR_PULL_SUBSCRIPTIONS, startLocalStack, type LocalStack } from '../../functions/local';
import type { Alert } from '../../shared/alerts/alert';
import { addDays, toIsoDate } from '../../shared/dates';
import { runEtl, type EtlResult } from '../../shared/etl/run-etl';
import { appendEvents } from '../../shared/events/load-events';
import { EmulatorAdmin, type ReceivedMessage } from '../../shared/local/emulator';
import { LocalRouter, pushEndpoint } from '../../shared/local/router';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import { LOCAL_PROJECT } from '../../shared/messaging/router-publisher';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { waitFor } from '../helpers/functions';
import { historyWithAnomalies, tempDir } from '../helpers/history';
import { context, shippedJob as job, SOURCE } from '../helpers/warehouse';
import { parseSettings } from '../../shared/settings';

/** Everything here waits on events with this bound; the emulator alone may take 20 s to listen. */
const DEADLINE_MS = 120_000;
jest.setTimeout(4 * DEADLINE_MS);

// The publish times the emulator stamps are real ones, so the history ends today.
const today = toIsoDate(new Date());
const yesterday = addDays(today, -1);
const COMPLETIONS = 'test-completions';

let dir: string;
let stack: LocalStack;
let admin: EmulatorAdmin;
let warehouse: Warehouse;
let kpiMonitorProxy: RecordingProxy;
const alerts: ReceivedMessage[] = [];
const completions: ReceivedMessage[] = [];

beforeAll(async () => {
  dir = tempDir();
  // Every delivery to kpi-monitor runs; the first of each message is then answered 500, as if the
  // instance had died before acknowledging.
  kpiMonitorProxy = await recordingProxy((entry, seen) => (seen === 1 ? 500 : entry.forwardedStatus));
  const env = {
    ...process.env,
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_NOW: '',
    KPIS_PUBLISHER: '',
  };
  stack = await startLocalStack({
    ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 },
    settings: parseSettings({}, env),
    env,
    clock: () => new Date(),
    logger: silentLogger,
    pubsub: 'emulator',
    pushTo: { 'kpi-monitor': kpiMonitorProxy.url },
    emulatorStartTimeoutMs: DEADLINE_MS,
  });
  kpiMonitorProxy.target = stack.urls['kpi-monitor'];
  admin = stack.emulatorAdmin as EmulatorAdmin;
  await admin.createPullSubscription(COMPLETIONS, TOPICS.completed);
  warehouse = (await stack.runtime.ports()).warehouse;
  await appendEvents(warehouse, SOURCE, historyWithAnomalies(today, 56, { [yesterday]: 'new_users_spike' }), context);
  await runEtl({ warehouse, clock: () => new Date(), logger: silentLogger }, job, {
    range: { start: addDays(today, -55), end: today },
    runId: 'history',
    username: 'test',
  });
}, 4 * DEADLINE_MS);

afterAll(async () => {
  await stack?.close();
  await kpiMonitorProxy?.close();
});

test('the emulator stack: topics, push subscriptions with the dead-letter policy, and the functions on the real client', async () => {
  expect(stack.router).toBeUndefined();
  const subscription = (await (
    await fetch(`${stack.emulator?.url}/v1/projects/${LOCAL_PROJECT}/subscriptions/kpi-monitor`)
  ).json()) as Record<string, unknown>;
  expect(subscription).toMatchObject({
    topic: `projects/${LOCAL_PROJECT}/topics/${TOPICS.completed}`,
    pushConfig: { pushEndpoint: pushEndpoint(kpiMonitorProxy.url, LOCAL_PROJECT, TOPICS.completed) },
    deadLetterPolicy: {
      deadLetterTopic: `projects/${LOCAL_PROJECT}/topics/daily-kpis-dead-letter`,
      maxDeliveryAttempts: 5,
    },
  });
});

test('a trigger from the client library: etl, both monitors, alerts pulled once each although kpi-monitor answered 500 the first time', async () => {
  const client = new PubSub({ projectId: LOCAL_PROJECT, apiEndpoint: stack.emulator?.host, emulatorMode: true });
  const triggerId = await client.topic(TOPICS.trigger).publishMessage({ json: { days_back: 1 } });
  await client.close();

  const completion = await completionOf(`etl-${triggerId}`);
  expect(completion.result).toMatchObject({ status: 'succeeded', dates: [yesterday, today] });
  await monitorsFinished(completion.messageId);
  // kpi-monitor ran twice on the message: the emulator delivered it again after the 500.
  const answered = () => kpiMonitorProxy.deliveriesOf(completion.messageId).filter((entry) => entry.answered !== 0);
  await waitFor('the second delivery to kpi-monitor', async () => (answered().length >= 2 ? true : undefined));
  const deliveries = kpiMonitorProxy.deliveriesOf(completion.messageId);
  expect(deliveries.map((entry) => [entry.forwardedStatus, entry.answered])).toEqual([
    [204, 500],
    [204, 204],
  ]);

  // The built-in checks' alerts; the KPI pack's checks raise too on this history (their own
  // tests pin which), and its days move with the real date, so they are only counted once each here.
  const builtin = ['kpi:dau', 'kpi:events', 'kpi:events_by_name:session_start', 'kpi:installs'];
  const expected = builtin.map((check) => `${check}:${yesterday}`);
  const ofBuiltin = (ids: string[]) =>
    ids.filter((id) =>
      ['kpi:dau:', 'kpi:events:', 'kpi:events_by_name:', 'kpi:installs:', 'kpi:last_activity:', 'kpi:coins:'].some(
        (prefix) => id.startsWith(prefix),
      ),
    );
  await waitFor('the alerts', async () =>
    ofBuiltin(await pulledAlertIds()).length >= expected.length ? true : undefined,
  );
  const pulled = await pulledAlertIds();
  expect(new Set(pulled).size).toBe(pulled.length);
  expect(ofBuiltin(pulled).sort()).toEqual(expected);
});

test('a trigger from `gcloud pubsub topics publish` pointed at the emulator builds the day and reaches both monitors', async () => {
  const day = addDays(today, -3);
  const stdout = await gcloud([
    'pubsub',
    'topics',
    'publish',
    TOPICS.trigger,
    `--message={"date":"${day}"}`,
    '--attribute=origin=gcloud',
    `--project=${LOCAL_PROJECT}`,
  ]);
  const triggerId = /messageIds:\s*- '?(\w+)'?/.exec(stdout)?.[1];
  expect(triggerId).toBeDefined();

  const completion = await completionOf(`etl-${triggerId}`);
  expect(completion.result).toMatchObject({ status: 'succeeded', dates: [day] });
  await monitorsFinished(completion.messageId);
  const ids = await pulledAlertIds();
  expect(ids.length).toBeGreaterThan(0);
  expect(new Set(ids).size).toBe(ids.length);
});

describe('the router delivers as the emulator does', () => {
  const received: { route: string; http: RecordedEntry; event: functions.CloudEvent<unknown> }[] = [];
  let route = '';
  let functionServer: Server;
  let proxy: RecordingProxy;
  let quiet: jest.SpyInstance;

  beforeAll(async () => {
    // The framework prints each error a function throws; these are thrown on purpose.
    quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    // A function that records the CloudEvent the framework made of the push, and fails it once.
    const failed = new Set<string>();
    functions.cloudEvent('recordPush', (event: functions.CloudEvent<unknown>) => {
      received.push({ route, http: proxy.entries.at(-1) as RecordedEntry, event });
      const key = `${route}:${event.id}`;
      if (!failed.has(key)) {
        failed.add(key);
        throw new Error('transient, on purpose');
      }
    });
    functionServer = getTestServer('recordPush');
    await new Promise<void>((resolve) => functionServer.listen(0, '127.0.0.1', resolve));
    proxy = await recordingProxy((entry) => entry.forwardedStatus);
    proxy.target = `http://127.0.0.1:${(functionServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    quiet.mockRestore();
    await proxy.close();
    await new Promise((resolve) => {
      functionServer.close(resolve);
      functionServer.closeAllConnections();
    });
  });

  test('the same push body and headers, the same CloudEvent, and a redelivery after a 500', async () => {
    const topic = 'compare-topic';
    const message = {
      data: { date: yesterday, dry_run: true },
      attributes: { origin: 'compare', status: 'succeeded' },
    };

    route = 'emulator';
    await admin.createTopic(topic);
    await admin.createPushSubscription({
      name: 'compare',
      topic,
      endpoint: pushEndpoint(proxy.url, LOCAL_PROJECT, topic),
    });
    const client = new PubSub({ projectId: LOCAL_PROJECT, apiEndpoint: stack.emulator?.host, emulatorMode: true });
    await client.topic(topic).publishMessage({ json: message.data, attributes: message.attributes });
    await client.close();
    await waitFor('two deliveries from the emulator', async () =>
      received.filter((r) => r.route === 'emulator').length >= 2 ? true : undefined,
    );

    route = 'router';
    const router = new LocalRouter({
      topicsDir: path.join(dir, 'router-topics'),
      clock: () => new Date(),
      logger: silentLogger,
      subscriptions: [{ name: 'compare', topic, endpoint: pushEndpoint(proxy.url, LOCAL_PROJECT, topic) }],
    });
    await router.publish(topic, message.data, message.attributes);
    await router.idle(DEADLINE_MS);
    await router.close();

    const seenBy = (name: string) => received.filter((r) => r.route === name).map(normalized);
    const emulator = seenBy('emulator');
    expect(emulator).toHaveLength(2);
    expect(emulator[0]).toMatchObject({
      answered: 500,
      event: { data: { message: { attributes: message.attributes, data: message.data } } },
    });
    expect(emulator[1]).toMatchObject({ answered: 204 });
    expect(seenBy('router')).toEqual(emulator);
  });
});

// ---- helpers ----

async function completionOf(runId: string): Promise<{ messageId: string; result: EtlResult }> {
  return waitFor(`the completion event of ${runId}`, async () => {
    completions.push(...(await admin.pullAndAck(COMPLETIONS)));
    const found = completions.find((m) => (JSON.parse(m.data.toString('utf8')) as EtlResult).run_id === runId);
    return found && { messageId: found.messageId, result: JSON.parse(found.data.toString('utf8')) as EtlResult };
  });
}

/** Both monitors have written their run log's `end` row for the completion event. */
async function monitorsFinished(completionId: string): Promise<void> {
  const uids = [`kpi-monitor-${completionId}`, `log-monitor-${completionId}`];
  await waitFor(`kpi-monitor and log-monitor on ${completionId}`, async () => {
    const rows = await warehouse.query("SELECT DISTINCT uid FROM logs.daily_logs WHERE log_type = 'end'", {}, context);
    const ended = new Set(rows.map((row) => String(row.uid)));
    return uids.every((uid) => ended.has(uid)) ? true : undefined;
  });
}

async function pulledAlertIds(): Promise<string[]> {
  alerts.push(...(await admin.pullAndAck(EMULATOR_PULL_SUBSCRIPTIONS.alerts)));
  return alerts.map((m) => (JSON.parse(m.data.toString('utf8')) as Alert).alert_id);
}

/** The real gcloud, on a config folder of its own, sending its Pub/Sub calls to the emulator. */
function gcloud(args: string[]): Promise<string> {
  const home = path.join(dir, 'gcloud');
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(home, 'token'), 'any-token');
  const env = {
    ...process.env,
    CLOUDSDK_CONFIG: path.join(home, 'config'),
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: path.join(home, 'token'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `${stack.emulator?.url}/`,
  };
  return new Promise((resolve, reject) =>
    execFile('gcloud', args, { env, timeout: DEADLINE_MS }, (error, stdout, stderr) =>
      error ? reject(new Error(`gcloud ${args.join(' ')}: ${stderr}`)) : resolve(`${stdout}${stderr}`),
    ),
  );
}

interface RecordedEntry {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  messageId: string | null;
  forwardedStatus: number;
  answered: number;
}

interface RecordingProxy {
  url: string;
  target: string;
  entries: RecordedEntry[];
  deliveriesOf(messageId: string): RecordedEntry[];
  close(): Promise<void>;
}

/** Forwards each push to `target` as it came, records it, and answers what `answer` says. */
async function recordingProxy(answer: (entry: RecordedEntry, seen: number) => number): Promise<RecordingProxy> {
  const entries: RecordedEntry[] = [];
  const proxy: RecordingProxy = {
    url: '',
    target: '',
    entries,
    deliveriesOf: (messageId) => entries.filter((entry) => entry.messageId === messageId),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const messageId = (JSON.parse(body) as { message?: { messageId?: string } }).message?.messageId ?? null;
      const entry: RecordedEntry = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body,
        messageId,
        forwardedStatus: 0,
        answered: 0,
      };
      entries.push(entry);
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
      ) as Record<string, string>;
      const forwarded = await fetch(`${proxy.target}${request.url}`, { method: request.method, headers, body });
      await forwarded.arrayBuffer();
      entry.forwardedStatus = forwarded.status;
      entry.answered = answer(entry, entries.filter((e) => e.messageId === messageId).length);
      response.writeHead(entry.answered).end();
    })().catch(() => response.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** What a delivery looks like with its ids, times, project and client-specific headers taken out. */
function normalized({ http, event }: { http: RecordedEntry; event: functions.CloudEvent<unknown> }) {
  const body = JSON.parse(http.body) as { subscription: string; message: Record<string, unknown> };
  const { data, attributes, ...ids } = body.message;
  return {
    method: http.method,
    path: http.path,
    contentType: http.headers['content-type'],
    cloudEventHeaders: Object.keys(http.headers).filter((name) => name.startsWith('ce-')),
    bodyKeys: Object.keys(body).sort(),
    messageKeys: Object.keys(body.message).sort(),
    idsAgree:
      new Set([ids.messageId, ids.message_id, event.id]).size === 1 &&
      ids.publishTime === ids.publish_time &&
      ids.publishTime === event.time,
    subscription: body.subscription,
    answered: http.answered,
    event: {
      type: event.type,
      source: event.source,
      data: {
        ...(event.data as object),
        message: {
          ...(event.data as { message: object }).message,
          data: JSON.parse(Buffer.from(String(data), 'base64').toString('utf8')) as unknown,
          attributes,
          messageId: 'id',
          publishTime: 'time',
        },
      },
    },
  };
}
