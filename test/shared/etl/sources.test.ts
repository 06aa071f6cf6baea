/**
 * `{{source}}` on a source table made before the canonical columns platform and country existed:
 * it shows them as NULL, so a query reading them runs unchanged, on both engines (BigQuery through
 * the fake that runs its SQL); a table that has them gives their values, and loading into an old
 * table keeps working.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { readingSources, sourceRenderings } from '../../../shared/etl/sources';
import { silentLogger } from '../../../shared/log';
import { SOURCE_COLUMNS, sourceTable } from '../../../shared/schema';
import type { Row, Warehouse } from '../../../shared/warehouse/warehouse';
import { bigQueryWithEvents } from '../../helpers/bigquery';
import { tempDir } from '../../helpers/history';
import { context, openMemoryWarehouse } from '../../helpers/warehouse';

const DAY = { start: '2026-11-01', end: '2026-11-01' };
const OLD_SOURCE = { ...sourceTable('gamepltx', 'fact'), columns: SOURCE_COLUMNS.slice(0, 4) };

const EVENTS: Row[] = [
  {
    user_id: 'u1',
    time: new Date('2026-11-01T10:00:00Z'),
    event_name: 'level_start',
    coins_added: null,
    platform: 'IOS',
    country: 'Japan',
  },
  {
    user_id: 'u2',
    time: new Date('2026-11-01T11:00:00Z'),
    event_name: 'purchase',
    coins_added: 40,
    platform: 'ANDROID',
    country: null,
  },
  {
    user_id: 'u2',
    time: new Date('2026-11-01T12:00:00Z'),
    event_name: 'purchase',
    coins_added: 10,
    platform: 'ANDROID',
    country: null,
  },
];

/** A config whose one table counts events by platform and country, read from {{source}}. */
function platformConfig(): string {
  const dir = tempDir('kpis-sources-');
  mkdirSync(path.join(dir, 'custom'));
  writeFileSync(
    path.join(dir, 'custom', 'by_platform.sql'),
    `-- events per day, platform and country
SELECT DATE(DATETIME(time, @time_zone)) AS date, COALESCE(platform, 'unknown') AS platform, COALESCE(country, 'unknown') AS country, COUNT(*) AS events
FROM {{source}}
WHERE time >= @start_ts AND time < @end_ts
GROUP BY DATE(DATETIME(time, @time_zone)), COALESCE(platform, 'unknown'), COALESCE(country, 'unknown')
`,
  );
  const file = path.join(dir, 'daily_kpis_config.json');
  const table = {
    sql: 'custom/by_platform.sql',
    strategy: 'replace_days',
    schema: { date: 'DATE', platform: 'STRING', country: 'STRING', events: 'INT64' },
  };
  writeFileSync(
    file,
    JSON.stringify({ game: { restate_days: 0, source_freshness_hours: 0, kpis: { by_platform: table } } }),
  );
  return file;
}

async function buildAndRead(warehouse: Warehouse): Promise<Row[]> {
  const job = loadEtlConfig(platformConfig());
  const deps = { warehouse, clock: () => new Date('2026-11-02T06:00:00Z'), logger: silentLogger };
  const outcome = await runEtl(deps, job, {
    range: { start: '2026-11-01', end: '2026-11-01' },
    runId: 'r1',
    username: 'test',
  });
  expect(outcome.result.error).toBeNull();
  const rows = await warehouse.query(
    'SELECT CAST(date AS STRING) AS date, platform, country, events FROM daily_kpis.by_platform ORDER BY platform, country',
    {},
    context,
  );
  return rows.map((row) => ({ ...row, events: Number(row.events) }));
}

const ENGINES: [string, () => Promise<{ warehouse: Warehouse; stop: () => Promise<void> }>][] = [
  [
    'duckdb',
    async () => {
      const warehouse = await openMemoryWarehouse();
      return { warehouse, stop: () => warehouse.close() };
    },
  ],
  [
    'bigquery (fake)',
    async () => {
      const bigquery = await bigQueryWithEvents([]);
      const warehouse = await bigquery.warehouse();
      return { warehouse, stop: () => bigquery.fake.stop() };
    },
  ],
];

describe.each(ENGINES)('{{source}} and the canonical columns on %s', (_engine, open) => {
  let engine: { warehouse: Warehouse; stop: () => Promise<void> };
  beforeEach(async () => {
    engine = await open();
  });
  afterEach(() => engine.stop());

  test('a source table without platform and country: loads keep working, and a query reading them sees NULL', async () => {
    const { warehouse } = engine;
    await warehouse.ensureTable({ ...OLD_SOURCE, table: 'old_fact' });
    const old = { ...sourceTable('gamepltx', 'old_fact') };
    // Loading into it with today's schema drops the columns the table lacks (BigQuery's JSON load
    // fails on a key the table has no column for).
    expect(await appendEvents(warehouse, old, EVENTS, context)).toBe(3);
    expect(await warehouse.query('SELECT COUNT(*) AS n FROM gamepltx.old_fact', {}, context)).toEqual([{ n: 3 }]);
    const renderings = await sourceRenderings(
      warehouse,
      loadEtlConfig(platformConfig()).tables.map((table) => ({ ...table, table_src: 'old_fact' })),
      DAY,
    );
    expect([...renderings.keys()]).toEqual(['gamepltx.old_fact']);
    expect(readingSources(warehouse, renderings).tableRef('gamepltx', 'old_fact')).toMatch(
      /^\(SELECT \*, CAST\(NULL AS STRING\) AS platform, CAST\(NULL AS STRING\) AS country FROM /,
    );
  });

  test('the ETL builds a table reading platform and country from an old source table (NULL) and from a new one (their values)', async () => {
    const { warehouse } = engine;
    // gamepltx.fact exists on the BigQuery fake already (with today's columns): make it old here.
    await warehouse.query('DROP TABLE IF EXISTS gamepltx.fact', {}, context).catch(() => undefined);
    await warehouse.ensureTable(OLD_SOURCE);
    await appendEvents(warehouse, OLD_SOURCE, EVENTS, context);
    expect(await buildAndRead(warehouse)).toEqual([
      { date: '2026-11-01', platform: 'unknown', country: 'unknown', events: 3 },
    ]);
  });
});

test('on a source table with platform and country, {{source}} is the table itself and the values come through', async () => {
  const warehouse = await openMemoryWarehouse();
  try {
    await appendEvents(warehouse, sourceTable('gamepltx', 'fact'), EVENTS, context);
    const job = loadEtlConfig(platformConfig());
    expect((await sourceRenderings(warehouse, job.tables, DAY)).size).toBe(0);
    expect(await buildAndRead(warehouse)).toEqual([
      { date: '2026-11-01', platform: 'ANDROID', country: 'unknown', events: 2 },
      { date: '2026-11-01', platform: 'IOS', country: 'Japan', events: 1 },
    ]);
  } finally {
    await warehouse.close();
  }
});
