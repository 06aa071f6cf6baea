/**
 * Overlapping ETL runs on BigQuery, against the REST fake with tables: a CLI backfill and the
 * scheduled run write the same tables at once. BigQuery aborts one of the two transactions; the
 * adapter waits and runs it again (CONCURRENCY_RETRY, minutes in production), so both runs
 * succeed and leave the tables of the two runs one after the other.
 */
import { runEtl, type EtlRequest } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import type { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { bigQueryWithEvents, type BigQueryWithTables } from '../../helpers/bigquery';
import { historyWithAnomalies } from '../../helpers/history';
import { shippedJob } from '../../helpers/warehouse';

const NOW = new Date('2026-11-27T06:00:00Z');
const BACKFILL: EtlRequest = {
  range: { start: '2026-11-14', end: '2026-11-26' },
  runId: 'backfill',
  username: 'analyst',
};
const SCHEDULED: EtlRequest = {
  range: { start: '2026-11-26', end: '2026-11-26' },
  runId: 'scheduled',
  username: 'scheduler',
};
const events = historyWithAnomalies('2026-11-27', 14, {});

/**
 * Waits, a few milliseconds at a time, until `condition` holds; fails naming `what` after a
 * generous deadline (as test/helpers/functions.ts waitFor does), so a run that never gets there
 * fails the test instead of hanging it.
 */
async function until(what: string, condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const run = (warehouse: BigQueryWarehouse, request: EtlRequest) =>
  runEtl({ warehouse, clock: () => NOW, logger: silentLogger }, shippedJob, request);

let reference: BigQueryWithTables;
let shared: BigQueryWithTables;
beforeEach(async () => {
  reference = await bigQueryWithEvents(events);
  shared = await bigQueryWithEvents(events);
});
afterEach(async () => {
  await reference.fake.stop();
  await shared.fake.stop();
});

// The test's timeout outlasts until's deadline, so a stuck run fails with its message, not jest's timeout.
test('a backfill held at its commit while the scheduled run writes the same tables: one is aborted, runs again, and both succeed with the tables of the two runs in turn', async () => {
  for (const request of [SCHEDULED, BACKFILL])
    expect((await run(await reference.warehouse(), request)).result.status).toBe('succeeded');
  const sequential = await reference.checksum();

  // Tables exist before the runs, so the two race on the data, not on creating tables.
  expect((await run(await shared.warehouse(), { ...SCHEDULED, runId: 'warm-up' })).result.status).toBe('succeeded');
  const gate = shared.tables.holdNextCommit('daily_kpis.daily_user_panel');
  const backfill = run(await shared.warehouse(), BACKFILL);
  await gate.reached;
  const jobsBefore = shared.fake.jobs.size;
  const scheduled = run(await shared.warehouse(), SCHEDULED);
  // The scheduled run's first script ends (aborted on the rows the backfill holds, or committed) before the backfill commits.
  await until("the scheduled run's script to end", () =>
    [...shared.fake.jobs.values()].slice(jobsBefore).some(
      (job) =>
        (job.configuration.labels as Record<string, string> | undefined)?.run_id === 'scheduled' &&
        job.status.state === 'DONE' &&
        // Its script, not the reads of the change check (restate_days) before it.
        String((job.configuration.query as { query?: string } | undefined)?.query).startsWith('BEGIN TRANSACTION'),
    ),
  );
  gate.release();
  const [scheduledOutcome, backfillOutcome] = await Promise.all([scheduled, backfill]);

  expect(scheduledOutcome.result).toMatchObject({ status: 'succeeded', error: null });
  expect(backfillOutcome.result).toMatchObject({ status: 'succeeded', error: null });
  const aborted = [...shared.fake.jobs.values()].filter((job) => job.status.errorResult);
  expect(aborted.length).toBeGreaterThanOrEqual(1);
  for (const job of aborted)
    expect((job.status.errorResult as { message: string }).message).toMatch(
      /^Transaction is aborted due to concurrent update against table/,
    );
  expect(await shared.checksum()).toBe(sequential);
  // An aborted transaction's run-log rows went with it: one start and one end per run.
  for (const runId of ['backfill', 'scheduled']) {
    const logTypes = (await shared.runLogRows(runId)).map((row) => row[9]);
    expect(logTypes.filter((type) => type === 'start')).toHaveLength(1);
    expect(logTypes.filter((type) => type === 'end')).toHaveLength(1);
  }
}, 240_000);

test('ten runs of the same days at once from ten clients, each with its own run id: every one succeeds and the tables are those of one run', async () => {
  expect((await run(await reference.warehouse(), SCHEDULED)).result.status).toBe('succeeded');
  const once = await reference.checksum();
  expect((await run(await shared.warehouse(), { ...SCHEDULED, runId: 'warm-up' })).result.status).toBe('succeeded');

  const clients = await Promise.all(Array.from({ length: 10 }, () => shared.warehouse()));
  const outcomes = await Promise.all(
    clients.map((warehouse, index) => run(warehouse, { ...SCHEDULED, runId: `overlap-${index}` })),
  );
  expect(outcomes.map((outcome) => outcome.result.error)).toEqual(Array.from({ length: 10 }, () => null));
  expect(outcomes.map((outcome) => outcome.result.status)).toEqual(Array.from({ length: 10 }, () => 'succeeded'));
  expect(await shared.checksum()).toBe(once);
}, 240_000);
