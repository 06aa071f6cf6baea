/**
 * Warehouse.sourceVersions on BigQuery, through the real client against the REST fake answering the
 * partition metadata query with chosen rows: which partitions a KPI day's version is made of (day or
 * hour partitions, a day in a zone other than UTC spanning two), and the parameters that bound it.
 */
import { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import { BigQueryFake } from '../../fakes/bigquery-fake';

let fake: BigQueryFake;
let warehouse: BigQueryWarehouse;
beforeEach(async () => {
  fake = await new BigQueryFake().start();
  warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
    projectId: 'demo-project',
    location: 'US',
  });
});
afterEach(() => fake.stop());

/** The fake answers with these partitions (id, last modified as an ISO instant, sent as int64 microseconds). */
function partitions(rows: [string | null, string][]): void {
  fake.results = () => ({
    fields: [
      { name: 'partition_id', type: 'STRING' },
      { name: 'last_modified_time', type: 'TIMESTAMP' },
    ],
    rows: rows.map(([id, at]) => [id, String(Date.parse(at) * 1000)]),
  });
}

const context = { job: 'daily_kpis', runId: 'test' };

test('UTC day partitions: each day its own, a day without one absent; the query is bounded to the range', async () => {
  partitions([
    ['20261120', '2026-11-21T03:00:00Z'],
    ['20261122', '2026-11-23T04:00:00Z'],
  ]);
  const versions = await warehouse.sourceVersions(
    { dataset: 'gamepltx', table: 'fact' },
    { start: '2026-11-20', end: '2026-11-22' },
    'UTC',
    context,
  );
  expect([...versions]).toEqual([
    ['2026-11-20', 'partitions modified 2026-11-21T03:00:00.000Z'],
    ['2026-11-22', 'partitions modified 2026-11-23T04:00:00.000Z'],
  ]);
  const [job] = fake.jobInserts().map(
    (request) =>
      request.body as {
        configuration: {
          query: { query: string; queryParameters: { name: string; parameterValue: { value: string } }[] };
        };
      },
  );
  expect(job?.configuration.query.query).toContain('FROM `demo-project.gamepltx.INFORMATION_SCHEMA.PARTITIONS`');
  expect(
    Object.fromEntries(job?.configuration.query.queryParameters.map((p) => [p.name, p.parameterValue.value]) ?? []),
  ).toEqual({
    table_name: 'fact',
    first_partition: '20261120',
    last_partition: '2026112299',
  });
});

test('a day in Berlin spans two UTC partitions: the newer change of either is its version', async () => {
  partitions([
    ['20261119', '2026-11-25T00:00:00Z'], // holds the first hour of Berlin's 20th
    ['20261120', '2026-11-21T00:00:00Z'],
  ]);
  const versions = await warehouse.sourceVersions(
    { dataset: 'gamepltx', table: 'fact' },
    { start: '2026-11-20', end: '2026-11-20' },
    'Europe/Berlin',
    context,
  );
  expect(versions.get('2026-11-20')).toBe('partitions modified 2026-11-25T00:00:00.000Z');
});

test('hour partitions count for the days they fall in; an unpartitioned table changes every day', async () => {
  partitions([
    ['2026112023', '2026-11-22T00:00:00Z'],
    ['2026112100', '2026-11-21T01:00:00Z'],
  ]);
  const hourly = await warehouse.sourceVersions(
    { dataset: 'gamepltx', table: 'fact' },
    { start: '2026-11-20', end: '2026-11-21' },
    'UTC',
    context,
  );
  expect([...hourly]).toEqual([
    ['2026-11-20', 'partitions modified 2026-11-22T00:00:00.000Z'],
    ['2026-11-21', 'partitions modified 2026-11-21T01:00:00.000Z'],
  ]);
  partitions([[null, '2026-11-30T00:00:00Z']]);
  const whole = await warehouse.sourceVersions(
    { dataset: 'gamepltx', table: 'fact' },
    { start: '2026-11-20', end: '2026-11-21' },
    'UTC',
    context,
  );
  expect([...whole.values()]).toEqual([
    'partitions modified 2026-11-30T00:00:00.000Z',
    'partitions modified 2026-11-30T00:00:00.000Z',
  ]);
});
