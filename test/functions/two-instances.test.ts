/**
 * Two instances of the etl function (two runtimes, each with its own in-flight guard and clients)
 * sharing one warehouse, served over HTTP through the functions-framework: the same trigger
 * delivered 10 times at once to both, as Pub/Sub may when it scales the function out. On one
 * DuckDB file (one process), and on the BigQuery REST fake with tables, the tables are those of a
 * single run (compared by checksum) and the run-log rows one set; on BigQuery the run's script runs
 * once (the write's job id comes from the work, so every other delivery re-attaches to it).
 */
import path from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { etlWork } from '../../functions/etl';
import { kpiMonitorWork } from '../../functions/kpi-monitor';
import { runEtl } from '../../shared/etl/run-etl';
import { appendEvents } from '../../shared/events/load-events';
import { silentLogger } from '../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../shared/messaging/publisher';
import { createFunctionRuntime, type FunctionName, type FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { pubsubHandler, type FunctionWork } from '../../shared/pipeline/pubsub-handler';
import type { Ports } from '../../shared/ports';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { bigQueryWithEvents } from '../helpers/bigquery';
import { post, pubsubEvent, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, shippedJob, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
const ENV = { KPIS_NOW: NOW, KPIS_LOG_LEVEL: 'ERROR' };

/** A runtime whose ports are the given warehouse and a local topic folder (closing it leaves the warehouse open). */
function instance(warehouse: Warehouse, topicsDir: string): FunctionRuntime {
  const ports: Ports = {
    warehouse,
    spec: { engine: 'duckdb', path: 'shared' },
    publisher: new LocalTopicPublisher(topicsDir, () => new Date(NOW)),
    slackWebhook: async () => null,
    close: async () => undefined,
  };
  return createFunctionRuntime({ env: ENV, logger: silentLogger, openPorts: async () => ports });
}

/** Registers two targets of one function, each with its own runtime, and delivers one message to them ten times at once. */
async function deliverToBoth(
  a: FunctionRuntime,
  b: FunctionRuntime,
  suffix: string,
  data: unknown,
  [name, work]: [FunctionName, FunctionWork] = ['etl', etlWork],
): Promise<{ codes: number[]; messageId: string }> {
  functions.cloudEvent(
    `${name}A${suffix}`,
    pubsubHandler(name, work, () => a),
  );
  functions.cloudEvent(
    `${name}B${suffix}`,
    pubsubHandler(name, work, () => b),
  );
  const event = pubsubEvent(data, { publishTime: NOW });
  const codes = await withFunctionServer(`${name}A${suffix}`, (urlA) =>
    withFunctionServer(`${name}B${suffix}`, (urlB) =>
      Promise.all(Array.from({ length: 10 }, (_unused, index) => post(index % 2 === 0 ? urlA : urlB, event))),
    ),
  );
  return { codes, messageId: event.messageId };
}

test('on one DuckDB file: the tables of a single run, one set of run-log rows, a completion event per delivery', async () => {
  const dir = tempDir('kpis-two-instances-');
  const checksum = async (warehouse: Warehouse) => {
    const parts: string[] = [];
    for (const table of ['daily_user_panel', 'installs', 'last_activity', 'daily_coins'])
      parts.push(JSON.stringify(await warehouse.query(`SELECT * FROM daily_kpis.${table} ORDER BY ALL`, {}, context)));
    return parts.join('\n');
  };
  const events = historyWithAnomalies('2026-11-27', 14, {});
  // The reference: one delivery to one instance, on a warehouse of its own.
  const reference = await DuckDbWarehouse.open(path.join(dir, 'reference.duckdb'));
  const shared = await DuckDbWarehouse.open(path.join(dir, 'shared.duckdb'));
  try {
    await appendEvents(reference, SOURCE, events, context);
    await appendEvents(shared, SOURCE, events, context);
    const single = await deliverToBoth(
      instance(reference, path.join(dir, 'ref-topics')),
      instance(reference, path.join(dir, 'ref-topics')),
      'Ref',
      { date: '2026-11-20' },
    ).then(async () => checksum(reference));

    const topics = path.join(dir, 'topics');
    const { codes, messageId } = await deliverToBoth(instance(shared, topics), instance(shared, topics), 'Duck', {
      date: '2026-11-20',
    });
    expect(codes).toEqual(Array.from({ length: 10 }, () => 204));
    expect(await checksum(shared)).toBe(single);
    const rows = await shared.query(
      'SELECT log_type FROM logs.daily_logs WHERE uid = @uid',
      { uid: { type: 'STRING', value: `etl-${messageId}` } },
      context,
    );
    expect(rows.filter((row) => row.log_type === 'start')).toHaveLength(1);
    expect(rows.filter((row) => row.log_type === 'end')).toHaveLength(1);
    const completions = topicMessages(topics, TOPICS.completed).filter(
      (m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`,
    );
    expect(completions.length).toBeGreaterThanOrEqual(2);
    expect(completions.every((m) => (m.data as { status: string }).status === 'succeeded')).toBe(true);
  } finally {
    await reference.close();
    await shared.close();
  }
});

test('on the BigQuery fake with tables: ten deliveries at once to two clients, then ten in a row, leave the tables of a single run; the script runs once', async () => {
  const events = historyWithAnomalies('2026-11-27', 14, {});
  const reference = await bigQueryWithEvents(events);
  const shared = await bigQueryWithEvents(events);
  try {
    const refTopics = tempDir('kpis-two-instances-bq-ref-');
    await deliverToBoth(
      instance(await reference.warehouse(), refTopics),
      instance(await reference.warehouse(), refTopics),
      'BqRef',
      { date: '2026-11-20' },
    );
    const single = await reference.checksum();
    expect(single).toContain('2026-11-20');

    const topics = tempDir('kpis-two-instances-bq-');
    const a = instance(await shared.warehouse(), topics);
    const b = instance(await shared.warehouse(), topics);
    const { codes, messageId } = await deliverToBoth(a, b, 'Bq', { date: '2026-11-20' });
    expect(codes).toEqual(Array.from({ length: 10 }, () => 204));
    expect(await shared.checksum()).toBe(single);
    // The same message again, ten times in a row, to either instance.
    const event = pubsubEvent({ date: '2026-11-20' }, { publishTime: NOW, messageId });
    for (let delivery = 0; delivery < 10; delivery += 1) {
      expect(await withFunctionServer(delivery % 2 === 0 ? 'etlABq' : 'etlBBq', (url) => post(url, event))).toBe(204);
    }
    expect(await shared.checksum()).toBe(single);

    const scripts = shared.fake
      .jobInserts()
      .filter((insert) => insert.text.includes('BEGIN TRANSACTION'))
      .map((insert) => (insert.body as { jobReference: { jobId: string } }).jobReference.jobId);
    // Every delivery asked for the same job; the fake ran it once and answered the others "already exists".
    expect(new Set(scripts).size).toBe(1);
    expect(shared.fake.executed.filter((jobId) => jobId === scripts[0])).toHaveLength(1);
    const runRows = await shared.runLogRows(`etl-${messageId}`);
    expect(runRows.filter((row) => row.includes('start'))).toHaveLength(1);
    expect(runRows.filter((row) => row.includes('end'))).toHaveLength(1);
    const completions = topicMessages(topics, TOPICS.completed).filter(
      (m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`,
    );
    expect(completions.length).toBeGreaterThanOrEqual(2);
    expect(completions.every((m) => (m.data as { status: string }).status === 'succeeded')).toBe(true);
  } finally {
    await reference.fake.stop();
    await shared.fake.stop();
  }
});

test('kpi-monitor on the BigQuery fake with tables: one completion event ten times at once to two instances, and each alert is published once', async () => {
  const bigquery = await bigQueryWithEvents(
    historyWithAnomalies('2026-11-27', 56, { '2026-11-26': 'new_users_spike' }),
  );
  try {
    const { result } = await runEtl(
      { warehouse: await bigquery.warehouse(), clock: () => new Date(NOW), logger: silentLogger },
      shippedJob,
      {
        range: { start: '2026-10-03', end: '2026-11-26' },
        runId: 'etl-history',
        username: 'test',
      },
    );
    expect(result.status).toBe('succeeded');
    const topics = tempDir('kpis-two-instances-alerts-');
    const { codes } = await deliverToBoth(
      instance(await bigquery.warehouse(), topics),
      instance(await bigquery.warehouse(), topics),
      'Bq',
      result,
      ['kpi-monitor', kpiMonitorWork],
    );
    expect(codes).toEqual(Array.from({ length: 10 }, () => 204));
    const published = topicMessages(topics, TOPICS.alerts).map(
      (message) => (message.data as { alert_id: string }).alert_id,
    );
    expect(published).toContain('kpi:installs:2026-11-26');
    expect(published.length).toBeGreaterThanOrEqual(3);
    expect(new Set(published).size).toBe(published.length);
  } finally {
    await bigquery.fake.stop();
  }
});
