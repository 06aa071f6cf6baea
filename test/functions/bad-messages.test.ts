/**
 * Messages that can never succeed, over HTTP through the functions-framework: a message id of the
 * wrong type or size, and keys that reach the object prototype. Each is logged as rejected,
 * acknowledged (204), and writes nothing: no run-log row, no completion event, no alert.
 */
import path from 'node:path';
import { appendEvents } from '../../shared/events/load-events';
import { createLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
let dir: string;
let runtime: FunctionRuntime;
const logged: { severity: string; message: string; reason?: string }[] = [];

beforeAll(async () => {
  dir = tempDir();
  const env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
  };
  const logger = createLogger({
    level: 'WARNING',
    write: (line) => logged.push(JSON.parse(line) as (typeof logged)[number]),
  });
  runtime = useFunctionRuntime(env, { logger });
  await appendEvents((await runtime.ports()).warehouse, SOURCE, historyWithAnomalies('2026-11-27', 7, {}), context);
});
afterAll(() => runtime.close());

/** A Pub/Sub CloudEvent whose message fields are replaced as given (wrong types included). */
function eventWith(data: unknown, message: Record<string, unknown>) {
  const event = pubsubEvent(data, { publishTime: NOW });
  const body = JSON.parse(event.body) as { message: Record<string, unknown> };
  return { ...event, body: JSON.stringify({ ...body, message: { ...body.message, ...message } }) };
}

const runLogRows = async () =>
  (await (await runtime.ports()).warehouse.query('SELECT uid FROM logs.daily_logs', {}, context).catch(() => [])).map(
    (row) => String(row.uid),
  );

/** Posts the events to a function and returns the reasons it logged for rejecting them. */
async function rejected(
  target: string,
  events: { headers: Record<string, string>; body: string }[],
): Promise<string[]> {
  const before = logged.length;
  const statuses = await withFunctionServer(target, async (url) => {
    const codes: number[] = [];
    for (const event of events) codes.push(await post(url, event));
    return codes;
  });
  expect(statuses).toEqual(events.map(() => 204));
  const lines = logged.slice(before);
  expect(lines.every((line) => line.message === 'message rejected and acknowledged: it can never succeed')).toBe(true);
  return lines.map((line) => line.reason ?? '');
}

describe('a message id must be a non-empty string of at most 256 characters', () => {
  test.each([
    ['an object', { a: 1 }],
    ['another object', { b: 2 }],
    ['a number', 42],
    ['an empty string', ''],
    ['300 characters', 'x'.repeat(300)],
    ['null', null],
  ])('%s: rejected, logged, acknowledged; nothing written', async (_name, messageId) => {
    const reasons = await rejected('etl', [eventWith({ date: '2026-11-25' }, { messageId })]);
    expect(reasons).toEqual([
      expect.stringContaining('message.messageId must be a non-empty string of at most 256 characters'),
    ]);
    expect(topicMessages(dir, TOPICS.completed)).toEqual([]);
    expect(await runLogRows()).toEqual([]);
  });
});

describe('keys that reach the object prototype make a bad message', () => {
  test('a trigger {"__proto__": {"dry_run": true}} is not the default range run for real', async () => {
    const reasons = await rejected('etl', [
      pubsubEvent('{"__proto__":{"dry_run":true}}', { publishTime: NOW }),
      pubsubEvent('{"date":"2026-11-25","constructor":{"prototype":{"dry_run":true}}}', { publishTime: NOW }),
    ]);
    expect(reasons).toEqual([
      expect.stringContaining('trigger: $.__proto__: "__proto__" is a reserved name'),
      expect.stringContaining('trigger: $.constructor: "constructor" is a reserved name'),
    ]);
    expect(topicMessages(dir, TOPICS.completed)).toEqual([]);
    expect(await runLogRows()).toEqual([]);
  });

  test('a completion event or heartbeat holding __proto__ reaches neither monitor', async () => {
    const completion = pubsubEvent('{"__proto__":{"status":"failed"}}', { publishTime: NOW, topic: TOPICS.completed });
    expect(await rejected('kpiMonitor', [completion])).toEqual([expect.stringContaining('$.__proto__')]);
    expect(await rejected('logMonitor', [completion])).toEqual([expect.stringContaining('$.__proto__')]);
    expect(topicMessages(dir, TOPICS.alerts)).toEqual([]);
    expect(await runLogRows()).toEqual([]);
  });
});
