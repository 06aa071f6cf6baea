#!/usr/bin/env node
// Which subscription features Google's Pub/Sub emulator honours, probed against the real one:
//   node test/probes/pubsub-emulator-features.mjs
// It starts `gcloud beta emulators pubsub start` on a free port (own gcloud config), runs each probe
// against a local push endpoint or a pull subscription, prints one line per feature, and stops the
// emulator's whole process group. About two minutes (the retry and deadline probes wait on purpose).
// Not a Jest test: it measures the emulator, it asserts nothing about this project. The README's
// table comes from its output.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const P = 'probe';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const port = await new Promise((resolve) => {
  const server = netServer().listen(0, '127.0.0.1', () => {
    const { port: free } = server.address();
    server.close(() => resolve(free));
  });
});
const home = mkdtempSync(path.join(tmpdir(), 'emulator-probe-'));
mkdirSync(path.join(home, 'data'));
const began = Date.now();
const emulator = spawn(
  'gcloud',
  [
    'beta',
    'emulators',
    'pubsub',
    'start',
    `--host-port=127.0.0.1:${port}`,
    `--project=${P}`,
    `--data-dir=${path.join(home, 'data')}`,
  ],
  {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, CLOUDSDK_CONFIG: path.join(home, 'config'), CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  },
);
const stop = () => {
  try {
    process.kill(-emulator.pid, 'SIGKILL');
  } catch {
    // gone already
  }
};
process.on('exit', stop);
const E = `http://127.0.0.1:${port}`;
for (let listening = false; !listening;) {
  if (Date.now() - began > 60_000) throw new Error('the emulator did not listen within 60 s');
  listening = await fetch(E).then(
    () => true,
    () => false,
  );
  if (!listening) await sleep(200);
}
const report = (feature, verdict, detail) => console.log(JSON.stringify({ feature, verdict, ...detail }));
report('start', 'measured', { listening_after_s: (Date.now() - began) / 1000 });

const api = async (method, resource, body) => {
  const response = await fetch(`${E}/v1/projects/${P}/${resource}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
};
const topic = (name) => `projects/${P}/topics/${name}`;
const publish = (name, messages) =>
  api('POST', `topics/${name}:publish`, {
    messages: messages.map((m) => ({
      data: Buffer.from(m.data ?? '{}').toString('base64'),
      attributes: m.attributes,
      orderingKey: m.orderingKey,
    })),
  });
const pull = async (sub) =>
  (await api('POST', `subscriptions/${sub}:pull`, { maxMessages: 10, returnImmediately: true })).body
    ?.receivedMessages ?? [];
const text = (message) => Buffer.from(message.data ?? '', 'base64').toString();

// One push endpoint for every probe: it records each request and answers what the probe's path says.
const requests = [];
const answers = new Map();
const server = createServer(async (request, response) => {
  let body = '';
  for await (const chunk of request) body += chunk;
  const entry = { path: request.url, at: Date.now(), headers: request.headers, body: JSON.parse(body || 'null') };
  requests.push(entry);
  const answer = answers.get(request.url) ?? (() => 204);
  response.writeHead(await answer(entry, requests.filter((r) => r.path === request.url).length)).end();
}).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const endpoint = (name) => `http://127.0.0.1:${server.address().port}/${name}`;
const pushed = (name) => requests.filter((r) => r.path === `/${name}`);
async function pushSubscription(name, settings = {}) {
  await api('PUT', `topics/${name}`);
  const created = await api('PUT', `subscriptions/${name}`, {
    topic: topic(name),
    pushConfig: { pushEndpoint: endpoint(name) },
    ...settings,
  });
  if (created.status !== 200) throw new Error(`${name}: ${JSON.stringify(created.body)}`);
  return created.body;
}

// Push: the body and headers.
await pushSubscription('push');
await publish('push', [{ data: '{"a":1}', attributes: { k: 'v' } }]);
await sleep(2000);
const [first] = pushed('push');
report('push', first ? 'honoured' : 'NOT honoured', {
  headers: first && Object.keys(first.headers),
  body: first?.body,
});

// Which answers acknowledge a push: each path answers its code once, then 204.
const codes = [200, 201, 202, 203, 204, 206, 302, 400, 429, 500];
for (const code of codes) {
  answers.set(`/code-${code}`, (_entry, seen) => (seen === 1 ? code : 204));
  await pushSubscription(`code-${code}`);
  await publish(`code-${code}`, [{}]);
}
await sleep(6000);
report('ack statuses', 'measured', {
  acknowledged: codes.filter((code) => pushed(`code-${code}`).length === 1),
  delivered_again: codes.filter((code) => pushed(`code-${code}`).length > 1),
});

// Retry: no retry policy, then a policy of 5 to 20 s; and the dead-letter policy (5 attempts).
answers.set('/retry-default', () => 500);
answers.set('/retry-policy', () => 500);
await pushSubscription('retry-default');
await api('PUT', 'topics/dead');
await api('PUT', 'subscriptions/dead-pull', { topic: topic('dead') });
await pushSubscription('retry-policy', {
  retryPolicy: { minimumBackoff: '5s', maximumBackoff: '20s' },
  deadLetterPolicy: { deadLetterTopic: topic('dead'), maxDeliveryAttempts: 5 },
});
await publish('retry-default', [{}]);
await publish('retry-policy', [{ data: '{"dead":1}' }]);
await sleep(45_000);
const gaps = (list) => list.slice(1).map((r, i) => Math.round((r.at - list[i].at) / 100) / 10);
report('retry without a policy', 'measured', {
  deliveries_in_45_s: pushed('retry-default').length,
  gaps_s: gaps(pushed('retry-default')).slice(0, 5),
});
report('retry policy 5s..20s', 'measured', {
  gaps_s: gaps(pushed('retry-policy')),
  delivery_attempt_in_body: pushed('retry-policy').map((r) => r.body.deliveryAttempt ?? null),
});
// The emulator moves the message when its next delivery would be due: wait for it, bounded.
let dead = [];
for (const waitUntil = Date.now() + 60_000; dead.length === 0 && Date.now() < waitUntil;)
  dead = await pull('dead-pull').then(async (got) => (got.length ? got : (await sleep(1000), [])));
report('dead-letter policy', dead.length === 1 && pushed('retry-policy').length === 5 ? 'honoured' : 'NOT honoured', {
  deliveries: pushed('retry-policy').length,
  dead_lettered_after_first_delivery_s: dead.length
    ? Math.round((Date.now() - pushed('retry-policy')[0].at) / 1000)
    : null,
  dead_lettered: dead.map((m) => ({ data: text(m.message), attributes: m.message.attributes })),
});

// Ack deadline: a pull not acknowledged, and a push answered after the deadline.
await api('PUT', 'topics/deadline');
await api('PUT', 'subscriptions/deadline', { topic: topic('deadline'), ackDeadlineSeconds: 10 });
await publish('deadline', [{}]);
const pulls = [(await pull('deadline')).length, (await pull('deadline')).length];
await sleep(12_000);
pulls.push((await pull('deadline')).length);
answers.set('/slow', async (_entry, seen) => (seen === 1 ? sleep(15_000).then(() => 204) : 204));
await pushSubscription('slow', { ackDeadlineSeconds: 10 });
await publish('slow', [{}]);
await sleep(20_000);
report('ack deadline', pulls.join() === '1,0,1' && pushed('slow').length === 2 ? 'honoured' : 'NOT honoured', {
  pulls_at_0s_0s_12s: pulls,
  pushes_with_a_15s_answer_and_10s_deadline: gaps(pushed('slow')),
});

// Nack (modifyAckDeadline 0): delivered again at once.
await api('PUT', 'topics/nack');
await api('PUT', 'subscriptions/nack', { topic: topic('nack'), ackDeadlineSeconds: 60 });
await publish('nack', [{}]);
const [nacked] = await pull('nack');
await api('POST', 'subscriptions/nack:modifyAckDeadline', { ackIds: [nacked.ackId], ackDeadlineSeconds: 0 });
report('nack', (await pull('nack')).length === 1 ? 'honoured' : 'NOT honoured', {});

// Filter: only status=failed should arrive.
await api('PUT', 'topics/filter');
const filtered = await api('PUT', 'subscriptions/filter', {
  topic: topic('filter'),
  filter: 'attributes.status = "failed"',
});
await publish('filter', [
  { data: '1', attributes: { status: 'succeeded' } },
  { data: '2', attributes: { status: 'failed' } },
  { data: '3' },
]);
await sleep(1000);
const arrived = (await pull('filter')).map((m) => text(m.message));
report('filter', arrived.join() === '2' ? 'honoured' : 'NOT honoured', {
  accepted: filtered.body.filter,
  delivered: arrived,
});

// Ordering: key A's first message fails once; A's second must wait for it, key B need not.
for (const name of ['ordered', 'unordered'])
  answers.set(`/${name}`, (entry, _seen) =>
    text(entry.body.message) === '1' && !answers.get(`failed-${name}`)
      ? (answers.set(`failed-${name}`, true), 500)
      : 204,
  );
await pushSubscription('ordered', { enableMessageOrdering: true });
await pushSubscription('unordered');
await publish('ordered', [
  { data: '1', orderingKey: 'A' },
  { data: '2', orderingKey: 'A' },
  { data: '3', orderingKey: 'B' },
]);
await publish('unordered', [{ data: '1' }, { data: '2' }, { data: '3' }]);
await sleep(6000);
const order = (name) => pushed(name).map((r) => text(r.body.message));
report('ordering', order('ordered').indexOf('2') > order('ordered').lastIndexOf('1') ? 'honoured' : 'NOT honoured', {
  ordered: order('ordered'),
  unordered: order('unordered'),
  ordering_key_in_push_body: pushed('ordered').some((r) => 'orderingKey' in r.body.message),
});

// Exactly-once: an ack with an expired ack id, on a normal and an exactly-once subscription.
const lateAcks = {};
for (const exactlyOnce of [false, true]) {
  const name = `late-${exactlyOnce}`;
  await api('PUT', `topics/${name}`);
  await api('PUT', `subscriptions/${name}`, {
    topic: topic(name),
    ackDeadlineSeconds: 10,
    enableExactlyOnceDelivery: exactlyOnce,
  });
  await publish(name, [{}]);
  const [held] = await pull(name);
  await sleep(11_500);
  await pull(name);
  lateAcks[exactlyOnce ? 'exactly_once' : 'normal'] = (
    await api('POST', `subscriptions/${name}:acknowledge`, { ackIds: [held.ackId] })
  ).status;
}
report(
  'exactly-once',
  lateAcks.exactly_once !== 200 && lateAcks.normal === 200 ? 'partly (expired ack ids refused)' : 'NOT honoured',
  { late_ack_status: lateAcks },
);

server.close();
process.exit(0);
