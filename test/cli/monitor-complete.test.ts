/**
 * `kpis monitor` and complete_after_hours, through the real CLI (bin/kpis.js in a child process) on
 * a DuckDB file: a day not complete yet for a check is not judged by that check, and the CLI says
 * when it completes, unless --judge-incomplete asks for it anyway.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_KPIS_CONFIG } from '../../shared/config/kpi-checks';
import { runKpis, type Run } from '../helpers/cli';
import { historyWithAnomalies } from '../helpers/history';
import { buildHistoryFile } from '../helpers/warehouse';

// The morning after 2026-11-26: that day ended 6 hours ago.
const NOW = '2026-11-27T06:00:00Z';
const dir = mkdtempSync(path.join(tmpdir(), 'kpis-complete-'));
const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;
const config = path.join(dir, 'kpis_config.json');

const kpis = (args: string[]): Promise<Run> =>
  runKpis(['monitor', '--kpis-config', config, '--warehouse', warehouse, '--dry-run', ...args], dir, NOW);

beforeAll(async () => {
  await buildHistoryFile(
    path.join(dir, 'w.duckdb'),
    historyWithAnomalies('2026-11-26', 35, {}),
    { start: '2026-10-23', end: '2026-11-26' },
    NOW,
  );
  // dau waits 30 hours after a day's end (its events arrive late); installs judges at once.
  const shipped = JSON.parse(readFileSync(DEFAULT_KPIS_CONFIG, 'utf8')) as {
    kpis: Record<string, Record<string, unknown>>;
  };
  writeFileSync(
    config,
    JSON.stringify({
      kpis: { dau: { ...shipped.kpis.dau, complete_after_hours: 30 }, installs: shipped.kpis.installs },
    }),
  );
});

const judged = (run: Run) =>
  (JSON.parse(run.stdout) as { check: string; date: string }[]).map((result) => `${result.check} ${result.date}`);

test('a day not complete for a check is not judged by it, and the CLI says when it completes', async () => {
  const run = await kpis(['--date', '2026-11-26', '--json']);
  expect(run.code).toBe(0);
  expect(judged(run)).toEqual(['installs 2026-11-26']);
  expect(run.stderr).toBe(
    'Not judged, not complete yet:\n  dau 2026-11-26: complete at 2026-11-28T06:00:00.000Z (complete_after_hours 30)\nA later run judges them; --judge-incomplete judges them now.\n',
  );
  const human = await kpis(['--date', '2026-11-26']);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/2026-11-26 +installs/);
  expect(human.stdout).not.toMatch(/2026-11-26 +dau/);
  expect(human.stdout).toContain(
    'Not judged, not complete yet:\n  dau 2026-11-26: complete at 2026-11-28T06:00:00.000Z (complete_after_hours 30)',
  );
});

test('--judge-incomplete judges it anyway; a day complete for every check is judged by all, with nothing said', async () => {
  const forced = await kpis(['--date', '2026-11-26', '--json', '--judge-incomplete']);
  expect(forced.code).toBe(0);
  expect(judged(forced).sort()).toEqual(['dau 2026-11-26', 'installs 2026-11-26']);
  expect(forced.stderr).toBe('');
  // 2026-11-25 ended 30 hours ago: complete for dau too.
  const complete = await kpis(['--date', '2026-11-25', '--json']);
  expect(judged(complete).sort()).toEqual(['dau 2026-11-25', 'installs 2026-11-25']);
  expect(complete.stderr).toBe('');
});
