/**
 * `kpis etl` on a warehouse without the events table: a mistyped `--warehouse` path opens a new,
 * empty DuckDB file, and the run fails on the missing source. The message says what to do.
 */
import path from 'node:path';
import { tempDir } from '../helpers/history';
import { runKpis } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');

test('a run on a warehouse without events says to load or seed them, or to name the right warehouse', async () => {
  const file = path.join(tempDir('kpis-etl-missing-'), 'typo.duckdb');
  const run = await runKpis(
    ['etl', '--date', '2026-11-20', '--warehouse', `duckdb:${file}`],
    ROOT,
    '2026-11-21T06:00:00Z',
  );
  expect(run.code).toBe(1);
  expect(run.stderr).toContain('ETL failed');
  expect(run.stderr).toContain(
    `No events to build from on DuckDB ${file}: load some with \`kpis load-events FILE\` or \`kpis seed-demo\``,
  );
  expect(run.stderr).toContain('(--warehouse, $KPIS_WAREHOUSE)');
});
