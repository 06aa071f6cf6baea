/**
 * `kpis etl` and late events, through the real CLI on a DuckDB file: a dry run names the earlier
 * days it would restate and writes nothing; the real run then restates them and says so.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { runKpis } from '../helpers/cli';
import { context, shippedJob, SOURCE } from '../helpers/warehouse';

const dir = mkdtempSync(path.join(tmpdir(), 'kpis-etl-restate-'));
const file = path.join(dir, 'w.duckdb');
const event = (user: string, time: string) => ({
  user_id: user,
  time: new Date(time),
  event_name: 'session_start',
  coins_added: null,
});

beforeAll(async () => {
  const duckdb = await DuckDbWarehouse.open(file);
  try {
    await duckdb.ensureTable(SOURCE);
    await appendEvents(
      duckdb,
      SOURCE,
      [event('a', '2026-11-20T10:00:00Z'), event('a', '2026-11-21T10:00:00Z')],
      context,
    );
    // The daily runs of the 21st and 22nd, as the scheduler's (restate_days 7 records the versions).
    for (const day of ['2026-11-20', '2026-11-21']) {
      const built = await runEtl(
        { warehouse: duckdb, clock: () => new Date(`${day}T23:00:00Z`), logger: silentLogger },
        shippedJob,
        {
          range: { start: day, end: day },
          runId: `daily-${day}`,
          username: 'scheduler',
        },
      );
      expect(built.failure).toBeUndefined();
    }
    // b's event of the 20th arrives late.
    await appendEvents(duckdb, SOURCE, [event('b', '2026-11-20T12:00:00Z')], context);
  } finally {
    await duckdb.close();
  }
});

test('a dry run names the days it would restate; the real run restates them and says so', async () => {
  const kpis = (args: string[]) =>
    runKpis(['etl', '--date', '2026-11-22', '--warehouse', `duckdb:${file}`, ...args], dir, '2026-11-23T06:00:00Z');
  const dry = await kpis(['--dry-run']);
  expect(dry.code).toBe(0);
  // The 20th changed; the 21st is a later day of the KPI pack's tables that read earlier days.
  expect(dry.stdout).toMatch(
    /^Dry run of .* for 2026-11-22\.\.2026-11-22, and 2026-11-20, 2026-11-21 again \(late events: restate_days\): valid/,
  );
  const script = readFileSync(path.join(dir, '.data/sql/etl_2026-11-22_2026-11-22.duckdb.sql'), 'utf8');
  expect(script).toContain('start_date_r1');
  const real = await kpis([]);
  expect(real.code).toBe(0);
  expect(real.stdout).toMatch(
    /^ETL succeeded \(run [0-9a-f-]{36}\): .* for 2026-11-22\.\.2026-11-22, and 2026-11-20, 2026-11-21 again \(late events: restate_days\) on /,
  );
  // Restated once: the next run has nothing left.
  const again = await runKpis(
    ['etl', '--date', '2026-11-23', '--warehouse', `duckdb:${file}`],
    dir,
    '2026-11-24T06:00:00Z',
  );
  expect(again.stdout).not.toContain('again (late events');
});
