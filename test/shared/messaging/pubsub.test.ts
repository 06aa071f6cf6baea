/** The Pub/Sub publisher through the real client library, against a gRPC fake of the Publisher API. */
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../shared/log';
import { PubSubPublisher } from '../../../shared/messaging/pubsub';
import { openPorts } from '../../../shared/ports';
import { parseSettings } from '../../../shared/settings';

const parsePublisherSpec = (env: NodeJS.ProcessEnv) => parseSettings({}, env).publisher;
import { PubSubFake } from '../../fakes/grpc-fakes';

let fake: PubSubFake;
let host: string;
const saved = process.env.PUBSUB_EMULATOR_HOST;

beforeEach(async () => {
  fake = new PubSubFake();
  host = await fake.start();
  process.env.PUBSUB_EMULATOR_HOST = host;
});
afterEach(async () => {
  if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
  else process.env.PUBSUB_EMULATOR_HOST = saved;
  await fake.stop();
});

test('PUBSUB_EMULATOR_HOST sends the ports to the emulator, and each publish carries JSON data and attributes', async () => {
  expect(parsePublisherSpec({ PUBSUB_EMULATOR_HOST: host, PUBSUB_PROJECT_ID: 'demo-project' })).toEqual({
    kind: 'pubsub',
    projectId: 'demo-project',
  });
  const env = { ...process.env, PUBSUB_PROJECT_ID: 'demo-project' };
  const ports = await openPorts({
    settings: parseSettings({ warehouse: 'duckdb::memory:' }, env),
    env,
    logger: silentLogger,
    clock: () => new Date(),
  });
  try {
    expect(ports.publisher).toBeInstanceOf(PubSubPublisher);
    const id = await ports.publisher.publish(
      'daily-kpis-alerts',
      { alert_id: 'kpi:dau:2026-11-26', metric: 1500 },
      { kind: 'kpi', check: 'dau', severity: 'warn' },
    );
    expect(id).toBe('1');
  } finally {
    await ports.close();
  }
  expect(fake.published).toEqual([
    {
      topic: 'projects/demo-project/topics/daily-kpis-alerts',
      data: { alert_id: 'kpi:dau:2026-11-26', metric: 1500 },
      attributes: { kind: 'kpi', check: 'dau', severity: 'warn' },
    },
  ]);
});

test('a publish the broker refuses becomes a PublishError that names the topic', async () => {
  const { PubSub } = await import('@google-cloud/pubsub');
  const publisher = new PubSubPublisher(new PubSub({ projectId: 'demo-project' }));
  fake.failWith = grpc.status.PERMISSION_DENIED;
  try {
    await expect(publisher.publish('daily-kpis-alerts', {})).rejects.toMatchObject({
      name: 'PublishError',
      message: expect.stringContaining('cannot publish to daily-kpis-alerts'),
    });
  } finally {
    await publisher.close();
  }
  expect(fake.published).toEqual([]);
});

test('credentials that cannot load: each publish fails with one PublishError saying what to do, nothing is sent, and no rejection is left unhandled', async () => {
  const { PubSub } = await import('@google-cloud/pubsub');
  delete process.env.PUBSUB_EMULATOR_HOST;
  // The real endpoint, never reached: the client fails on the key file before any request.
  const publisher = new PubSubPublisher(
    new PubSub({ projectId: 'my-project-123', keyFilename: '/nonexistent/key.json' }),
  );
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', listener);
  try {
    const publishes = [
      publisher.publish('daily-kpis-alerts', {}),
      publisher.publish('daily-kpis-alerts', {}),
      publisher.publishRaw('daily-kpis-trigger', Buffer.from('{}')),
    ];
    for (const publish of publishes) {
      await expect(publish).rejects.toMatchObject({
        name: 'PublishError',
        message: expect.stringMatching(
          /^no Google credentials for Pub\/Sub: run gcloud auth application-default login, or set KPIS_PUBLISHER=local \(.*key\.json/,
        ),
      });
    }
    await publisher.close();
    // The client's floating promise would be reported once the current tasks are done.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    process.off('unhandledRejection', listener);
  }
  expect(unhandled).toEqual([]);
  expect(fake.published).toEqual([]);
});

test('KPIS_PUBLISHER decides where messages go, and a typo is a clear error', () => {
  expect(parsePublisherSpec({})).toEqual({ kind: 'local', dir: '.data/topics' });
  expect(parsePublisherSpec({ KPIS_PUBLISHER: 'pubsub:my-project', PUBSUB_EMULATOR_HOST: host })).toEqual({
    kind: 'pubsub',
    projectId: 'my-project',
  });
  expect(
    parsePublisherSpec({ KPIS_PUBLISHER: 'local', KPIS_TOPICS_DIR: '/tmp/t', PUBSUB_EMULATOR_HOST: host }),
  ).toEqual({ kind: 'local', dir: '/tmp/t' });
  expect(() => parsePublisherSpec({ KPIS_PUBLISHER: 'pubsub' })).toThrow(
    'KPIS_PUBLISHER must be local, router:http://HOST:PORT or pubsub:PROJECT_ID, got "pubsub"',
  );
});
