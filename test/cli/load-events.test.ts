/**
 * `kpis load-events` in a child process, as a user runs it: its peak memory (maxRSS, read when
 * the process exits) stays bounded whatever the file's size. A memory bound, not a timing: before
 * the load streamed, these three took 3,776, 717 and 667 MiB. The bound is what a load holds at
 * most: DuckDB's 512 MB load limit, Node's own 100 MB or so, and DuckDB's allocations outside its
 * buffer pool (a 1 GB CSV peaks at 700 to 800 MB: npm run bench).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/history';
import { BIN } from '../helpers/cli';
import { context, openMemoryWarehouse } from '../helpers/warehouse';

const MIB = 1024 * 1024;
const dir = tempDir('kpis-load-memory-');
/** Writes the child's peak resident memory (KiB on Linux) to a file when it exits. */
const PRELOAD = path.join(dir, 'max-rss.js');
writeFileSync(
  PRELOAD,
  "process.on('exit', () => require('node:fs').writeFileSync(process.env.MAX_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
);
// The files and warehouses weigh about 700 MB: gone after the tests.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Events as DuckDB writes them (`COPY ... TO`), `rows` of them in time order. */
async function generate(file: string, rows: number, options: string): Promise<number> {
  const warehouse = await openMemoryWarehouse();
  try {
    await warehouse.query(
      `COPY (SELECT 'u' || (i * 7919 % 100003) AS user_id, TIMESTAMP '2026-11-01' + to_microseconds(i * 100000) AS time,
             CASE i % 3 WHEN 0 THEN 'session_start' WHEN 1 THEN 'level_complete' ELSE 'purchase' END AS event_name,
             CASE i % 3 WHEN 2 THEN i % 1000 END AS coins_added
           FROM range(${rows}) t(i)) TO '${file}' (${options})`,
      {},
      context,
    );
  } finally {
    await warehouse.close();
  }
  return statSync(file).size;
}

function loadInChild(file: string): Promise<{ code: number; stdout: string; stderr: string; maxRssMib: number }> {
  const rssFile = path.join(dir, `${path.basename(file)}.rss`);
  const args = [
    '--require',
    PRELOAD,
    BIN,
    'load-events',
    file,
    '--json',
    '--warehouse',
    `duckdb:${path.join(dir, `${path.basename(file)}.duckdb`)}`,
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: dir, env: { ...process.env, KPIS_WAREHOUSE: '', MAX_RSS_FILE: rssFile } },
      (error, stdout, stderr) => {
        resolve({
          code: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          maxRssMib: Number(readFileSync(rssFile, 'utf8')) / 1024,
        });
      },
    );
  });
}

test.each([
  // The engine reads a plain CSV itself.
  ['a 200 MB CSV', 'events.csv', 5_000_000, "HEADER, DELIMITER ','"],
  // Quoted values go through the streaming checker; so do JSON lines.
  ['a 30 MB CSV of quoted values', 'quoted.csv', 600_000, "HEADER, DELIMITER ',', FORCE_QUOTE *"],
  ['a 110 MB JSON-lines file', 'events.jsonl', 1_200_000, 'FORMAT json'],
])(
  '%s loads in under 900 MB of memory',
  async (_name, name, rows, options) => {
    const file = path.join(dir, name);
    const bytes = await generate(file, rows, options);
    const run = await loadInChild(file);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ rows });
    process.stdout.write(`${name}: ${Math.round(bytes / MIB)} MiB loaded, peak RSS ${Math.round(run.maxRssMib)} MiB\n`);
    expect(run.maxRssMib).toBeLessThan(900);
  },
  600_000,
);
