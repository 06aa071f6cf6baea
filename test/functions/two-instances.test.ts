/**
 * Two instances of the etl function (two runtimes, each with its own in-flight guard and clients)
 * sharing one warehouse, served over HTTP through the functions-framework: the same trigger
 * delivered 10 times at once to both, as Pub/Sub may when it scales the function out. On one
 * DuckDB file (one process), the tables are those of a single run and the run-log rows one set; on
 * the BigQuery REST fake, the run's script runs once (the write's job id comes from the work, so
 * every other delivery re-attaches to it).
 */
import path from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { etlWork } from '../../functions/etl';
import { appendEvents } from '../../shared/events/load-events';
import { silentLogger } from '../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../shared/messaging/publisher';
import { createFunctionRuntime, pubsubHandler, type FunctionRuntime } from '../../shared/pipeline/function-runtime';
import type { Ports } from '../../shared/ports';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import type { Warehouse } from '../../shared/warehouse/warehouse';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { post, pubsubEvent, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

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

/** Registers two etl targets, each with its own runtime, and delivers one message to them ten times at once. */
async function deliverToBoth(a: FunctionRuntime, b: FunctionRuntime, suffix: string, data: unknown): Promise<{ codes: number[]; messageId: string }> {
  functions.cloudEvent(
    `etlA${suffix}`,
    pubsubHandler('etl', etlWork, () => a),
  );
  functions.cloudEvent(
    `etlB${suffix}`,
    pubsubHandler('etl', etlWork, () => b),
  );
  const event = pubsubEvent(data, { publishTime: NOW });
  const codes = await withFunctionServer(`etlA${suffix}`, (urlA) =>
    withFunctionServer(`etlB${suffix}`, (urlB) => Promise.all(Array.from({ length: 10 }, (_unused, index) => post(index % 2 === 0 ? urlA : urlB, event)))),
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
    const single = await deliverToBoth(instance(reference, path.join(dir, 'ref-topics')), instance(reference, path.join(dir, 'ref-topics')), 'Ref', { date: '2026-11-20' }).then(
      async () => checksum(reference),
    );

    const topics = path.join(dir, 'topics');
    const { codes, messageId } = await deliverToBoth(instance(shared, topics), instance(shared, topics), 'Duck', { date: '2026-11-20' });
    expect(codes).toEqual(Array.from({ length: 10 }, () => 204));
    expect(await checksum(shared)).toBe(single);
    const rows = await shared.query('SELECT log_type FROM logs.daily_logs WHERE uid = @uid', { uid: { type: 'STRING', value: `etl-${messageId}` } }, context);
    expect(rows.filter((row) => row.log_type === 'start')).toHaveLength(1);
    expect(rows.filter((row) => row.log_type === 'end')).toHaveLength(1);
    const completions = topicMessages(topics, TOPICS.completed).filter((m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`);
    expect(completions.length).toBeGreaterThanOrEqual(2);
    expect(completions.every((m) => (m.data as { status: string }).status === 'succeeded')).toBe(true);
  } finally {
    await reference.close();
    await shared.close();
  }
});

test('on the BigQuery fake: two clients, ten deliveries, and the run script executes once', async () => {
  const fake = await new BigQueryFake().start();
  try {
    const warehouse = async () =>
      new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
        projectId: 'demo-project',
        location: 'US',
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      });
    const topics = tempDir('kpis-two-instances-bq-');
    const { codes, messageId } = await deliverToBoth(instance(await warehouse(), topics), instance(await warehouse(), topics), 'Bq', { date: '2026-11-20' });
    expect(codes).toEqual(Array.from({ length: 10 }, () => 204));
    const scripts = fake
      .jobInserts()
      .filter((insert) => JSON.stringify(insert.body).includes('BEGIN TRANSACTION'))
      .map((insert) => (insert.body as { jobReference: { jobId: string } }).jobReference.jobId);
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    // Every delivery asked for the same job; the fake ran it once and answered the others "already exists".
    expect(new Set(scripts).size).toBe(1);
    expect(fake.executed.filter((jobId) => jobId === scripts[0])).toHaveLength(1);
    const completions = topicMessages(topics, TOPICS.completed).filter((m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`);
    expect(completions.every((m) => (m.data as { status: string }).status === 'succeeded')).toBe(true);
  } finally {
    await fake.stop();
  }
});
