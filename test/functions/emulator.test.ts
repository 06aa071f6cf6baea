/**
 * With PUBSUB_EMULATOR_HOST set, the functions publish through the real Pub/Sub client (here to
 * the gRPC fake standing in for the emulator) and no local router runs; `kpis publish --project`
 * reaches the same place.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../../functions/local';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import { PubSubFake } from '../fakes/grpc-fakes';
import { post, pubsubEvent, setEnv } from '../helpers/functions';
import { historyWithAnomalies, tempDir } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';
import { appendEvents } from '../../shared/events/load-events';
import { parseSettings } from '../../shared/settings';

const NOW = '2026-11-27T06:00:00.000Z';
let fake: PubSubFake;
let stack: LocalStack;
let restoreEnv: () => void;

beforeAll(async () => {
  fake = new PubSubFake();
  const host = await fake.start();
  const dir = tempDir();
  restoreEnv = setEnv({
    PUBSUB_EMULATOR_HOST: host,
    PUBSUB_PROJECT_ID: 'local-project',
    KPIS_PUBLISHER: '',
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
  });
  stack = await startLocalStack({
    ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 },
    settings: parseSettings({}, process.env),
    env: process.env,
    clock: () => new Date(NOW),
    logger: silentLogger,
    pubsub: 'running-emulator',
  });
  await appendEvents(
    (await stack.runtime.ports()).warehouse,
    SOURCE,
    historyWithAnomalies('2026-11-27', 7, {}),
    context,
  );
});
afterAll(async () => {
  await stack.close();
  await fake.stop();
  restoreEnv();
});

test('no router; the etl function publishes its completion event to the emulator', async () => {
  expect(stack.router).toBeUndefined();
  const event = pubsubEvent({ date: '2026-11-26' }, { publishTime: NOW });
  expect(await post(stack.urls.etl, event)).toBe(204);
  expect(fake.published).toEqual([
    expect.objectContaining({
      topic: `projects/local-project/topics/${TOPICS.completed}`,
      attributes: { status: 'succeeded', job_name: 'daily_kpis' },
      data: expect.objectContaining({ run_id: `etl-${event.messageId}` }),
    }),
  ]);
});

test('kpis publish --project sends the message through the real client', async () => {
  const bin = path.resolve(__dirname, '../../bin/kpis.js');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [bin, 'publish', TOPICS.heartbeat, '{}', '--project', 'local-project', '--attribute', 'origin=test'],
      { env: process.env },
      (error, out) => (error ? reject(error) : resolve(out)),
    ),
  );
  expect(stdout).toMatch(/^Published message \d+ to daily-kpis-heartbeat on Pub\/Sub in local-project\.$/m);
  expect(fake.published.at(-1)).toEqual({
    topic: `projects/local-project/topics/${TOPICS.heartbeat}`,
    data: {},
    attributes: { origin: 'test' },
  });
});
