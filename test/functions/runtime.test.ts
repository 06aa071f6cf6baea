/**
 * The function runtime built from explicit arguments: the functions run on the environment they
 * are given (process.env untouched), each loads only its own config, and environment variables are
 * parsed with one rule.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { ConfigError } from '../../shared/errors';
import { appendEvents } from '../../shared/events/load-events';
import { TOPICS } from '../../shared/messaging/publisher';
import { createFunctionRuntime, type FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { pubsubHandler } from '../../shared/pipeline/pubsub-handler';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';

let runtime: FunctionRuntime | undefined;
afterEach(() => runtime?.close());

test('a broken kpis_config.json does not stop the etl function; the kpi-monitor says what is wrong; process.env is not touched', async () => {
  const dir = tempDir();
  const broken = path.join(dir, 'kpis_config.json');
  writeFileSync(broken, '{"kpis": {"dau": {"thresh_in_percent": "a lot"}}}');
  const env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_MONITOR_CONFIG: broken,
  };
  const before = { ...process.env };
  runtime = useFunctionRuntime(env);
  await appendEvents((await runtime.ports()).warehouse, SOURCE, historyWithAnomalies('2026-11-27', 7, {}), context);

  expect(
    await withFunctionServer('etl', (url) => post(url, pubsubEvent({ date: '2026-11-25' }, { publishTime: NOW }))),
  ).toBe(204);
  const [completion] = topicMessages(dir, TOPICS.completed);
  expect(completion?.data).toMatchObject({ status: 'succeeded', start_date: '2026-11-25' });

  // The kpi-monitor needs the checks: a config error is permanent, so it is logged and acknowledged.
  await expect(runtime.configs.kpiChecks()).rejects.toThrow(ConfigError);
  await expect(runtime.configs.kpiChecks()).rejects.toThrow(`${broken}: invalid config`);
  expect(
    await withFunctionServer('kpiMonitor', (url) =>
      post(url, pubsubEvent(completion?.data, { publishTime: NOW, topic: TOPICS.completed })),
    ),
  ).toBe(204);
  expect(topicMessages(dir, TOPICS.alerts)).toEqual([]);
  expect(process.env).toEqual(before);
});

test('nothing is loaded or opened before the first event', async () => {
  let opened = 0;
  const runtime = createFunctionRuntime({
    env: { KPIS_CONFIG: '/nonexistent/daily_kpis_config.json' },
    openPorts: () => {
      opened += 1;
      return Promise.reject(new Error('not now'));
    },
  });
  expect(opened).toBe(0);
  await expect(runtime.configs.etlJob()).rejects.toThrow(
    '/nonexistent/daily_kpis_config.json: cannot read config file (ENOENT) (from KPIS_CONFIG)',
  );
  await expect(runtime.ports()).rejects.toThrow('not now');
  // A failure is not kept: the next event tries again.
  await expect(runtime.ports()).rejects.toThrow('not now');
  expect(opened).toBe(2);
});

test('closing the runtime waits for the deliveries being handled: they end on open ports (`kpis serve` stopped during a run crashed in DuckDB)', async () => {
  const dir = tempDir();
  const runtime = createFunctionRuntime({
    env: {
      KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
      KPIS_PUBLISHER: 'local',
      KPIS_TOPICS_DIR: dir,
      KPIS_NOW: NOW,
      KPIS_LOG_LEVEL: 'ERROR',
    },
  });
  let started!: () => void;
  let release!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const answers: unknown[] = [];
  functions.cloudEvent(
    'slowDelivery',
    pubsubHandler(
      'kpi-monitor',
      async (_message, { warehouse }) => {
        started();
        await gate;
        answers.push(...(await warehouse.query('SELECT 1 AS one', {}, context)));
      },
      () => runtime,
    ),
  );
  const status = await withFunctionServer('slowDelivery', async (url) => {
    const answered = post(url, pubsubEvent({}, { publishTime: NOW, topic: TOPICS.completed }));
    await running;
    const closed = runtime.close();
    // Time for a close that does not wait to close DuckDB, as it did before the fix.
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    release();
    await closed;
    return answered;
  });
  expect(status).toBe(204);
  expect(answers).toEqual([{ one: 1 }]);
});

describe('environment variables: empty means unset; a bad value names the variable and what it takes', () => {
  test.each([
    [{ KPIS_LOG_LEVEL: 'LOUD' }, 'KPIS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got "LOUD"'],
    [{ KPIS_MAX_EVENT_AGE_HOURS: '-1' }, 'KPIS_MAX_EVENT_AGE_HOURS must be a positive number, got "-1"'],
    [{ KPIS_MAX_RANGE_DAYS: 'many' }, 'KPIS_MAX_RANGE_DAYS must be a positive number, got "many"'],
  ])('%j', (env, message) => {
    expect(() => createFunctionRuntime({ env })).toThrow(ConfigError);
    expect(() => createFunctionRuntime({ env })).toThrow(message);
  });

  test('empty values fall back to the defaults', () => {
    const runtime = createFunctionRuntime({
      env: { KPIS_LOG_LEVEL: '', KPIS_MAX_EVENT_AGE_HOURS: '', KPIS_MAX_RANGE_DAYS: '' },
    });
    expect(runtime.settings).toMatchObject({ logLevel: undefined, maxEventAgeHours: 24, maxRangeDays: 366 });
    expect(
      createFunctionRuntime({ env: { KPIS_LOG_LEVEL: 'warn', KPIS_MAX_RANGE_DAYS: '2.5' } }).settings,
    ).toMatchObject({ logLevel: 'WARNING', maxRangeDays: 2.5 });
  });
});
