/**
 * The process killed (SIGKILL) at a random moment of a DuckDB ETL run and of a monitor run, then
 * run again: the tables are those of an uninterrupted run, and no alert is lost (an alert published
 * just before the kill, and not yet marked delivered, goes out again: at least once, with the same
 * alert_id to dedupe on). `npm test` kills CHAOS_RUNS / 30 runs of each (default 5); `npm run chaos`
 * 50. The figures are printed as one table.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appendEvents } from '../../shared/events/load-events';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { historyWithAnomalies, tempDir } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

const BIN = path.resolve(__dirname, '../../bin/kpis.js');
const KILLS = Math.min(50, Math.max(3, Math.round(Number(process.env.CHAOS_RUNS ?? 150) / 30)));
const NOW = '2026-11-27T06:00:00Z';
const LATER = '2026-11-27T07:00:00Z';
const ANOMALIES = {
  '2026-11-10': 'new_users_spike',
  '2026-11-14': 'returning_drop',
  '2026-11-19': 'empty',
  '2026-11-23': 'event_burst',
} as const;
const figures: string[] = [];

function kpis(args: string[], dir: string, now = NOW): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: { ...process.env, KPIS_NOW: now, KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}` } },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

/** Starts a command and kills it after `delayMs` (or lets it finish first). */
function killAfter(args: string[], dir: string, delayMs: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, KPIS_NOW: NOW, KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}` },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

async function workspace(): Promise<string> {
  const dir = tempDir('kpis-sigkill-');
  const warehouse = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
  await appendEvents(warehouse, SOURCE, historyWithAnomalies('2026-11-27', 42, ANOMALIES), context);
  await warehouse.close();
  return dir;
}

async function tablesOf(dir: string): Promise<string> {
  const warehouse = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
  try {
    const parts: string[] = [];
    for (const table of ['daily_user_panel', 'installs', 'last_activity', 'daily_coins'])
      parts.push(JSON.stringify(await warehouse.query(`SELECT * FROM daily_kpis.${table} ORDER BY ALL`, {}, context)));
    return parts.join('\n');
  } finally {
    await warehouse.close();
  }
}

const alertIds = (dir: string): string[] => {
  const file = path.join(dir, '.data/topics/daily-kpis-alerts.jsonl');
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { data: { alert_id: string } }).data.alert_id)
    : [];
};

const ETL = ['etl', '--from', '2026-10-20', '--to', '2026-11-26'];
const MONITOR = ['monitor', '--from', '2026-11-08', '--to', '2026-11-26'];
/** Kill moments spread over a run (a run here takes a few hundred ms after Node's start-up). */
const delay = (index: number) => 150 + ((index * 7919) % 900);

test(
  `an ETL run killed ${KILLS} times at random moments, then run again, gives the tables of an uninterrupted run`,
  async () => {
    const reference = await workspace();
    expect((await kpis(ETL, reference)).code).toBe(0);
    const expected = await tablesOf(reference);
    const dir = await workspace();
    let killed = 0;
    for (let index = 0; index < KILLS; index += 1) {
      if ((await killAfter(ETL, dir, delay(index))) === 'killed') killed += 1;
      const rerun = await kpis(ETL, dir);
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      expect(await tablesOf(dir)).toBe(expected);
    }
    figures.push(`etl: ${KILLS} runs, ${killed} killed mid-run, ${KILLS} reruns identical to an uninterrupted run`);
  },
  KILLS * 15_000 + 30_000,
);

test(
  `a monitor run killed ${KILLS} times, then run again: every alert published, none lost`,
  async () => {
    const reference = await workspace();
    expect((await kpis(ETL, reference)).code).toBe(0);
    await kpis(MONITOR, reference);
    const expected = [...new Set(alertIds(reference))].sort();
    expect(expected.length).toBeGreaterThan(3);
    let killed = 0;
    let duplicates = 0;
    for (let index = 0; index < KILLS; index += 1) {
      const dir = await workspace();
      expect((await kpis(ETL, dir)).code).toBe(0);
      if ((await killAfter(MONITOR, dir, delay(index))) === 'killed') killed += 1;
      // An hour later, every claim the killed run left is stale: the rerun takes it.
      await kpis(MONITOR, dir, LATER);
      const published = alertIds(dir);
      expect([...new Set(published)].sort()).toEqual(expected);
      duplicates += published.length - new Set(published).size;
    }
    figures.push(
      `monitor: ${KILLS} runs, ${killed} killed mid-run, 0 alerts lost, ${duplicates} published twice (killed between the publish and its mark; same alert_id)`,
    );
  },
  KILLS * 20_000 + 30_000,
);

afterAll(() => {
  process.stdout.write(`\nSIGKILL\n  ${figures.join('\n  ')}\n`);
});
