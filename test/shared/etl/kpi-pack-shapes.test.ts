/**
 * The KPI pack's faster SQL shapes (sessions from 30-minute buckets, engagement and retention from
 * each user's last active day) give the rows of the plain definitions they replaced, kept here in
 * kpi-pack-reference/ (a window over every event, COUNT(DISTINCT) per day, every active day per
 * cohort cell), on generated histories whose gaps sit around the 30-minute session gap and whose
 * days cross midnight. Both run on the real DuckDB engine; ZetaSQL checks the shipped shapes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { EtlJob } from '../../../shared/config/etl-config';
import { runEtl } from '../../../shared/etl/run-etl';
import type { Row } from '../../../shared/warehouse/warehouse';
import { context, etlDeps, insertEvents, openMemoryWarehouse, shippedJob, type Event } from '../../helpers/warehouse';

const REFERENCE = new Map(
  ['daily_sessions', 'daily_engagement', 'retention'].map((name) => [
    name,
    readFileSync(path.join(__dirname, 'kpi-pack-reference', `${name}.sql`), 'utf8'),
  ]),
);
/** A reference query's rows as the all-users rows of its table (the shipped tables add a row per platform and per country). */
const allUsers = (query: string) => `SELECT q.*, '(all)' AS platform, '(all)' AS country FROM (\n${query}\n) AS q`;
const referenceJob: EtlJob = {
  ...shippedJob,
  tables: shippedJob.tables.map((table) => {
    const reference = REFERENCE.get(table.name);
    return reference === undefined ? table : { ...table, query: allUsers(reference) };
  }),
};
const ORDER = new Map([
  ['daily_sessions', 'date'],
  ['daily_engagement', 'date'],
  ['retention', 'date, cohort_date, n'],
]);
const FIRST = '2026-11-01';
const LAST = '2026-11-12';

/** The pack's tables after one run of `job` over the generated events. */
async function build(job: EtlJob, events: Event[]): Promise<Record<string, Row[]>> {
  const warehouse = await openMemoryWarehouse();
  try {
    await insertEvents(warehouse, events);
    const outcome = await runEtl(etlDeps(warehouse, '2026-11-13T06:00:00Z'), job, {
      range: { start: FIRST, end: LAST },
      runId: 'shapes',
      username: 'test',
    });
    if (outcome.failure) throw outcome.failure;
    const tables: Record<string, Row[]> = {};
    for (const [table, order] of ORDER) {
      tables[table] = await warehouse.query(
        `SELECT * FROM daily_kpis.${table} WHERE platform = '(all)' AND country = '(all)' ORDER BY ${order}`,
        {},
        context,
      );
    }
    return tables;
  } finally {
    await warehouse.close();
  }
}

const MINUTE = 60_000;
/** Gaps between a user's events: around the session gap (29, 30, 31 minutes), seconds apart, and days apart. */
const gap = fc.oneof(
  fc.constantFrom(0, 1, 29, 30, 31, 59, 61, 600, 1439, 2880, 8000).map((minutes) => minutes * MINUTE),
  fc.constantFrom(30 * MINUTE - 1000, 30 * MINUTE + 1000, 45_000),
);
const userEvents = (user: string) =>
  fc
    .record({ start: fc.integer({ min: 0, max: 11 * 1440 }), gaps: fc.array(gap, { minLength: 1, maxLength: 12 }) })
    .map(({ start, gaps }) => {
      let time = Date.parse(`${FIRST}T00:00:00Z`) + start * MINUTE - 20 * MINUTE;
      return gaps.map((step) => {
        time += step;
        return { user_id: user, time: new Date(time).toISOString(), event_name: 'level_start' };
      });
    });
const history = fc
  .tuple(userEvents('a'), userEvents('b'), userEvents('c'), userEvents('d'))
  .map((users) => users.flat());

test('sessions, engagement and retention: the shipped shapes give the rows of the plain definitions', async () => {
  await fc.assert(
    fc.asyncProperty(history, async (events) => {
      expect(await build(shippedJob, events)).toEqual(await build(referenceJob, events));
    }),
    { numRuns: 12, seed: 20261201 },
  );
}, 120_000);
