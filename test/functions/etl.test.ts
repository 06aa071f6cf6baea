/** The etl function over HTTP: trigger messages in, KPI tables and a completion event out. */
import path from 'node:path';
import { appendEvents } from '../../shared/events/load-events';
import { TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
let dir: string;
let env: NodeJS.ProcessEnv;
let runtime: FunctionRuntime;
let warehouse: Warehouse;

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
  await appendEvents(warehouse, SOURCE, historyWithAnomalies('2026-11-27', 14, {}), context);
});
afterAll(async () => {
  await runtime.close();
});

const completions = () => topicMessages(dir, TOPICS.completed);
const runLog = (uid: string) =>
  warehouse.query(
    'SELECT step_name, log_type, step_id FROM logs.daily_logs WHERE uid = @uid ORDER BY step_id',
    { uid: { type: 'STRING', value: uid } },
    context,
  );
const panel = () =>
  warehouse.query(
    'SELECT user_id, date, total_events FROM daily_kpis.daily_user_panel ORDER BY date, user_id',
    {},
    context,
  );

test('a trigger builds its days and publishes the completion event in the contract', async () => {
  const event = pubsubEvent({ date: '2026-11-25' }, { publishTime: NOW });
  expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
  const [completion] = completions();
  expect(completion?.attributes).toEqual({ status: 'succeeded', job_name: 'daily_kpis' });
  expect(completion?.data).toEqual({
    run_id: `etl-${event.messageId}`,
    job_name: 'daily_kpis',
    status: 'succeeded',
    start_date: '2026-11-25',
    end_date: '2026-11-25',
    dates: ['2026-11-25'],
    tables: [
      'daily_kpis.daily_user_panel',
      'daily_kpis.installs',
      'daily_kpis.last_activity',
      'daily_kpis.daily_coins',
      'daily_kpis.user_segments',
      'daily_kpis.first_purchase',
      'daily_kpis.daily_revenue',
      'daily_kpis.daily_sessions',
      'daily_kpis.daily_engagement',
      'daily_kpis.retention',
    ],
    error: null,
    // KPIS_NOW sets the clock, which then runs on.
    started_at: expect.stringMatching(/^2026-11-27T06:00:/),
    finished_at: expect.stringMatching(/^2026-11-27T06:00:/),
    dry_run: false,
  });
  expect((await runLog(`etl-${event.messageId}`)).map((row) => row.log_type)).toEqual([
    'start',
    ...Array<string>(10).fill('info'),
    'end',
  ]);
});

test('days_back counts from the day the message was published, not the day it arrives', async () => {
  const before = completions().length;
  const event = pubsubEvent({ days_back: 1 }, { publishTime: '2026-11-26T23:59:00.000Z' });
  expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
  expect(completions()[before]?.data).toMatchObject({ start_date: '2026-11-25', end_date: '2026-11-26' });
});

test('the same event delivered twice, one after the other: one run in the log, the completion published again', async () => {
  const event = pubsubEvent({ date: '2026-11-24' }, { publishTime: NOW });
  const before = completions().length;
  expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
  const tables = await panel();
  expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
  expect(await panel()).toEqual(tables);
  expect(await runLog(`etl-${event.messageId}`)).toEqual([
    { step_name: 'start', log_type: 'start', step_id: 1 },
    { step_name: 'daily_user_panel', log_type: 'info', step_id: 2 },
    { step_name: 'installs', log_type: 'info', step_id: 3 },
    { step_name: 'last_activity', log_type: 'info', step_id: 4 },
    { step_name: 'daily_coins', log_type: 'info', step_id: 5 },
    { step_name: 'user_segments', log_type: 'info', step_id: 6 },
    { step_name: 'first_purchase', log_type: 'info', step_id: 7 },
    { step_name: 'daily_revenue', log_type: 'info', step_id: 8 },
    { step_name: 'daily_sessions', log_type: 'info', step_id: 9 },
    { step_name: 'daily_engagement', log_type: 'info', step_id: 10 },
    { step_name: 'retention', log_type: 'info', step_id: 11 },
    { step_name: 'end', log_type: 'end', step_id: 12 },
    { step_name: 'redelivery', log_type: 'info', step_id: 13 },
  ]);
  const published = completions().slice(before);
  expect(published.map((m) => (m.data as { run_id: string }).run_id)).toEqual([
    `etl-${event.messageId}`,
    `etl-${event.messageId}`,
  ]);
});

test('the same event delivered twice at the same time runs once', async () => {
  const event = pubsubEvent({ date: '2026-11-23' }, { publishTime: NOW });
  const before = completions().length;
  const statuses = await withFunctionServer('etl', (url) => Promise.all([post(url, event), post(url, event)]));
  expect(statuses).toEqual([204, 204]);
  expect((await runLog(`etl-${event.messageId}`)).filter((row) => row.log_type === 'start')).toHaveLength(1);
  expect(completions().length - before).toBe(1);
});

test('the same trigger delivered 10 times in a row and 10 times at once: the tables of a single run, one set of run-log rows', async () => {
  // Every table's rows, as one text: equal texts are equal tables.
  const checksum = async () => {
    const parts: string[] = [];
    for (const table of ['daily_user_panel', 'installs', 'last_activity', 'daily_coins']) {
      parts.push(JSON.stringify(await warehouse.query(`SELECT * FROM daily_kpis.${table} ORDER BY ALL`, {}, context)));
    }
    return parts.join('\n');
  };
  const once = pubsubEvent({ date: '2026-11-19' }, { publishTime: NOW });
  expect(await withFunctionServer('etl', (url) => post(url, once))).toBe(204);
  const single = await checksum();

  const repeated = pubsubEvent({ date: '2026-11-19' }, { publishTime: NOW });
  const before = completions().length;
  const inRow = await withFunctionServer('etl', async (url) => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i += 1) codes.push(await post(url, repeated));
    return codes;
  });
  const atOnce = await withFunctionServer('etl', (url) =>
    Promise.all(Array.from({ length: 10 }, () => post(url, repeated))),
  );
  expect([...inRow, ...atOnce].every((code) => code === 204)).toBe(true);
  expect(await checksum()).toBe(single);
  const rows = await runLog(`etl-${repeated.messageId}`);
  expect(rows.filter((row) => row.log_type === 'start')).toHaveLength(1);
  expect(rows.filter((row) => row.log_type === 'end')).toHaveLength(1);
  // Every delivery that was not merged into a running one republishes the completion event.
  const published = completions()
    .slice(before)
    .filter((m) => (m.data as { run_id: string }).run_id === `etl-${repeated.messageId}`);
  expect(published.length).toBeGreaterThanOrEqual(11);
  expect(published.every((m) => (m.data as { status: string }).status === 'succeeded')).toBe(true);
});

test('a dry run writes nothing and says so in its completion event', async () => {
  const event = pubsubEvent({ date: '2026-11-22', dry_run: true }, { publishTime: NOW });
  expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
  expect(completions().at(-1)?.data).toMatchObject({
    run_id: `etl-${event.messageId}`,
    status: 'succeeded',
    dry_run: true,
  });
  expect(await runLog(`etl-${event.messageId}`)).toEqual([]);
});

describe('every way a Pub/Sub message reaches a function runs it', () => {
  const data = (date: string) => Buffer.from(JSON.stringify({ date })).toString('base64');
  test.each([
    [
      'a raw push subscription body (the emulator, an old subscription)',
      '/',
      { 'content-type': 'application/json' },
      (id: string) => ({
        message: { data: data('2026-11-21'), messageId: id, publishTime: NOW },
        subscription: 'projects/p/subscriptions/s',
      }),
    ],
    [
      'a raw push to the topic path',
      '/projects/local-project/topics/daily-kpis-trigger',
      { 'content-type': 'application/json' },
      (id: string) => ({
        message: { data: data('2026-11-21'), messageId: id },
        subscription: 'projects/p/subscriptions/s',
      }),
    ],
    [
      'a structured-mode CloudEvent',
      '/',
      { 'content-type': 'application/cloudevents+json' },
      (id: string) => ({
        specversion: '1.0',
        id,
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub.googleapis.com/projects/p/topics/daily-kpis-trigger',
        data: { message: { data: data('2026-11-21'), messageId: id } },
      }),
    ],
  ])('%s', async (_name, pathname, headers, body) => {
    const id = `format-${Math.random().toString(36).slice(2)}`;
    const status = await withFunctionServer('etl', async (url) => {
      const response = await fetch(`${url}${pathname}`, { method: 'POST', headers, body: JSON.stringify(body(id)) });
      await response.arrayBuffer();
      return response.status;
    });
    expect(status).toBe(204);
    // Two of them carry no publishTime: the time the message arrived stands in for it.
    expect(completions().find((m) => (m.data as { run_id: string }).run_id === `etl-${id}`)?.data).toMatchObject({
      status: 'succeeded',
      start_date: '2026-11-21',
    });
  });
});

describe('a message that can never succeed is acknowledged, with nothing written', () => {
  test.each([
    ['not JSON', 'days_back=1'],
    ['not an object', [1, 2]],
    ['a JSON string', '"2026-11-20"'],
    ['an impossible date', { date: '2026-02-30' }],
    ['a date in another format', { date: '26.11.2026' }],
    ['an unknown field', { dayz_back: 1 }],
    ['two forms at once', { date: '2026-11-20', days_back: 2 }],
    ['start_date without end_date', { start_date: '2026-11-20' }],
    ['a range the wrong way round', { start_date: '2026-11-20', end_date: '2026-11-01' }],
    ['a range longer than the maximum', { start_date: '2024-01-01', end_date: '2026-11-26' }],
    ['an unknown KPI', { kpis: ['dau'] }],
    ['a wrong type', { dry_run: 'yes' }],
    ['the last day BigQuery can hold (it used to loop until the heap ran out)', { date: '9999-12-31' }],
    ['a day after tomorrow', { date: '2026-11-29' }],
    ['a range ending in year 9999', { start_date: '9999-12-30', end_date: '9999-12-31' }],
    ['a day before year 1', { date: '0000-12-31' }],
    ['days_back reaching before year 1', { days_back: 1e9 }],
  ])('%s', async (_name, data) => {
    const before = completions().length;
    const [{ rows: logRows }] = (await warehouse.query(
      'SELECT COUNT(*) AS rows FROM logs.daily_logs',
      {},
      context,
    )) as [{ rows: number }];
    const event = pubsubEvent(data, { publishTime: NOW });
    expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
    expect(completions()).toHaveLength(before);
    expect(await warehouse.query('SELECT COUNT(*) AS rows FROM logs.daily_logs', {}, context)).toEqual([
      { rows: logRows },
    ]);
  });

  test('an event older than KPIS_MAX_EVENT_AGE_HOURS (24) is acknowledged with a warning instead of run', async () => {
    const before = completions().length;
    const event = pubsubEvent({ days_back: 1 }, { publishTime: '2026-11-26T05:59:00.000Z' });
    expect(await withFunctionServer('etl', (url) => post(url, event))).toBe(204);
    expect(completions()).toHaveLength(before);
    expect(await runLog(`etl-${event.messageId}`)).toEqual([]);
  });
});
