/**
 * Faults injected at the BigQuery calls of a triggered ETL run, through the real client against
 * the REST fake with tables (jobs run their SQL): each job insert answering 503, 429, losing its response after the job was
 * created, or creating a job that a concurrent transaction aborts; and dataset or table lookups
 * answering 503. Each kind at each insert alone, then random combinations. Pub/Sub is played by
 * delivering the trigger again while the function throws (a transient failure), as it would.
 * Every run must end succeeded, with one committed script, the same as a fault-free run's, no
 * statement committed twice, and the KPI tables of a fault-free run (compared by checksum). `npm test` runs CHAOS_RUNS / 5 random runs (default 30); `npm run
 * chaos` 200.
 */
import fc from 'fast-check';
import { isTransientFailure } from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../shared/messaging/publisher';
import { runTriggeredEtl } from '../../shared/pipeline/triggered-etl';
import type { EtlResult } from '../../shared/etl/run-etl';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import type { BigQueryFake, InsertBehaviour } from '../fakes/bigquery-fake';
import { bigQueryWithEvents } from '../helpers/bigquery';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { job } from '../helpers/warehouse';

const RUNS = Math.min(200, Math.max(10, Math.round(Number(process.env.CHAOS_RUNS ?? 150) / 5)));
const NOW = new Date('2026-11-27T06:00:00Z');
const RANGE = { start: '2026-11-25', end: '2026-11-26' };
/** Pub/Sub's bounded deliveries (the subscription's max delivery attempts). */
const DELIVERIES = 5;
const figures: string[] = [];

const FAULTS: Record<string, InsertBehaviour> = {
  '503': { kind: 'http-error', status: 503, reason: 'backendError' },
  '429': { kind: 'http-error', status: 429, reason: 'rateLimitExceeded' },
  'lost response': { kind: 'lose-response' },
  'concurrent-update abort': {
    kind: 'job-error',
    reason: 'invalidQuery',
    message: 'Transaction is aborted due to concurrent update against table demo-project.daily_kpis.installs',
  },
};

interface Outcome {
  result: EtlResult | null;
  deliveries: number;
  committed: { sql: string; params: unknown }[];
  /** The KPI tables the run left, as one string. */
  tables: string;
}

/** The source events of the runs: the days of RANGE and one before. */
const EVENTS = historyWithAnomalies('2026-11-27', 3, {});

/** One triggered run on a fresh fake with tables holding EVENTS, with these faults, delivered again while it fails transiently. */
async function faultedRun(inserts: InsertBehaviour[], metadataFailures: number[]): Promise<Outcome> {
  const { fake, checksum } = await bigQueryWithEvents(EVENTS);
  try {
    // Faults start after the events are loaded: they belong to the run.
    fake.insertBehaviours = [...inserts];
    fake.metadataFailures = [...metadataFailures];
    const warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
      projectId: 'demo-project',
      location: 'US',
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      concurrencyRetry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const topics = tempDir('kpis-faults-');
    const deps = {
      warehouse,
      clock: () => NOW,
      logger: silentLogger,
      publisher: new LocalTopicPublisher(topics, () => NOW),
    };
    let result: EtlResult | null = null;
    let deliveries = 0;
    while (deliveries < DELIVERIES) {
      deliveries += 1;
      try {
        result = await runTriggeredEtl(deps, job, {
          trigger: { range: RANGE, dryRun: false },
          runId: 'etl-faulted',
          username: 'test',
          publishedAt: NOW,
        });
        break;
      } catch (error) {
        // A transient failure throws, and Pub/Sub delivers again; the function acknowledges any other,
        // after the run published its failed completion event.
        if (!isTransientFailure(error as Error)) {
          result = (topicMessages(topics, TOPICS.completed).at(-1)?.data as EtlResult | undefined) ?? null;
          break;
        }
      }
    }
    const committed = fake.executed
      .map((id) => fake.jobs.get(id))
      .filter(
        (resource) =>
          resource &&
          !resource.status.errorResult &&
          String((resource.configuration.query as { query?: string } | undefined)?.query).startsWith(
            'BEGIN TRANSACTION',
          ),
      )
      .map((resource) => {
        const query = resource?.configuration.query as { query: string; queryParameters: unknown };
        return { sql: query.query, params: query.queryParameters };
      });
    return { result, deliveries, committed, tables: await checksum(job.tables.map((table) => table.name)) };
  } finally {
    await fake.stop();
  }
}

const datasetRequests = (fake: BigQueryFake): number =>
  fake.requests.filter((request) => /\/projects\/[^/]+\/datasets/.test(request.path)).length;

let reference: Outcome;
let inserts = 0;
let lookups = 0;
beforeAll(async () => {
  reference = await faultedRun([], []);
  const counting = await bigQueryWithEvents(EVENTS);
  // How many job inserts and dataset or table requests a fault-free run makes, to fault each of them.
  const before = { inserts: counting.fake.jobInserts().length, lookups: datasetRequests(counting.fake) };
  try {
    const warehouse = await counting.warehouse();
    await runTriggeredEtl(
      {
        warehouse,
        clock: () => NOW,
        logger: silentLogger,
        publisher: new LocalTopicPublisher(tempDir('kpis-faults-'), () => NOW),
      },
      job,
      {
        trigger: { range: RANGE, dryRun: false },
        runId: 'etl-faulted',
        username: 'test',
        publishedAt: NOW,
      },
    );
    inserts = counting.fake.jobInserts().length - before.inserts;
    lookups = datasetRequests(counting.fake) - before.lookups;
  } finally {
    await counting.fake.stop();
  }
});

function expectLikeReference(outcome: Outcome): void {
  expect(outcome.result?.status).toBe('succeeded');
  expect(outcome.committed).toHaveLength(1);
  expect(outcome.committed[0]).toEqual(reference.committed[0]);
  expect(outcome.tables).toBe(reference.tables);
}

test('a fault-free run commits one script', () => {
  expect(reference.result?.status).toBe('succeeded');
  expect(reference.committed).toHaveLength(1);
  expect(reference.tables).toContain('2026-11-26');
  expect(inserts).toBeGreaterThanOrEqual(2);
});

test.each(Object.keys(FAULTS))(
  '%s at each job insert of a run, alone: the run succeeds, its script committed once, the tables those of a fault-free run',
  async (name) => {
    const fault = FAULTS[name] as InsertBehaviour;
    let deliveries = 0;
    for (let at = 0; at < inserts; at += 1) {
      const outcome = await faultedRun(
        [...Array.from({ length: at }, (): InsertBehaviour => ({ kind: 'none' })), fault],
        [],
      );
      expectLikeReference(outcome);
      deliveries += outcome.deliveries;
    }
    figures.push(
      `${name} at each of ${inserts} inserts: ${inserts} runs succeeded, ${deliveries} deliveries, each script committed once and the tables those of a fault-free run`,
    );
  },
);

test('a 503 at each dataset or table lookup and creation, alone: the run succeeds, its script committed once, the tables those of a fault-free run', async () => {
  expect(lookups).toBeGreaterThan(0);
  for (let at = 0; at < lookups; at += 1) {
    // The lookups before the faulted one go through (0): the fake's queue answers in order.
    const outcome = await faultedRun([], [...Array.from({ length: at }, () => 0), 503]);
    expectLikeReference(outcome);
  }
  figures.push(
    `503 at each of ${lookups} dataset and table requests: ${lookups} runs succeeded, each script committed once and the tables those of a fault-free run`,
  );
});

test(
  `${RUNS} runs with random combinations of faults, table lookups failing too: each ends like a fault-free run`,
  async () => {
    const plans = fc.sample(
      fc.record({
        inserts: fc.array(
          fc.oneof(fc.constant<InsertBehaviour>({ kind: 'none' }), fc.constantFrom(...Object.values(FAULTS))),
          { maxLength: inserts * 2 },
        ),
        metadata: fc.array(fc.constantFrom(503, 500), { maxLength: 3 }),
      }),
      { numRuns: RUNS, seed: 20261128 },
    );
    let faults = 0;
    let deliveries = 0;
    for (const plan of plans) {
      const outcome = await faultedRun(plan.inserts, plan.metadata);
      expectLikeReference(outcome);
      faults += plan.inserts.filter((behaviour) => behaviour.kind !== 'none').length + plan.metadata.length;
      deliveries += outcome.deliveries;
    }
    figures.push(
      `random: ${RUNS} runs, ${faults} faults injected, ${deliveries} deliveries, every run succeeded with its script committed once and the tables of a fault-free run`,
    );
  },
  // Each run starts a fake with tables and loads its events: about half a second.
  RUNS * 2000,
);

afterAll(() => {
  process.stdout.write(`\nBigQuery faults\n  ${figures.join('\n  ')}\n`);
});

test('a permanent failure of the script (a SQL error) is not retried: one delivery, a failed completion, acknowledged', async () => {
  const outcome = await faultedRun(
    [
      { kind: 'none' },
      { kind: 'job-error', reason: 'invalidQuery', message: 'Syntax error: Unexpected keyword at [3:1]' },
    ],
    [],
  );
  expect(outcome.deliveries).toBe(1);
  expect(outcome.result).toMatchObject({ status: 'failed', error: expect.stringContaining('Syntax error') });
  expect(outcome.committed).toEqual([]);
  expect(outcome.tables).toBe(job.tables.map(() => '[]').join('\n'));
});
