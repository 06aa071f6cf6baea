/**
 * `npm run bench [-- --json]` (`-- --help` lists the knobs): what a daily ETL run costs on the embedded
 * DuckDB warehouse, as ratios measured in this one run (machines here are shared and noisy, so
 * absolute times are printed for context only).
 *
 * - history_ratio: the daily run with 365 days of history over the same run with 30 days
 *   (goal <= 1.5: the daily cost must not grow with history);
 * - engine_overhead_ratio: the daily run over a bare GROUP BY of the same day's events, the
 *   least work any tool could do (goal <= 3);
 * - events per second of the daily run, and the process's peak memory;
 * - report_ratio: `kpis report` over 365 days and 20 checks (read, judge, chart, write the HTML)
 *   over reading and judging the same series (checkKpis), on a year of demo-sized events; the
 *   report's own time is printed too (goal: under 5 s);
 * - cold_start_ratio: a process that loads the deployed entry for one target (FUNCTION_TARGET=etl)
 *   over one that loads a hello-world CloudEvent function on the same framework, interleaved
 *   (goal <= 1.5); and each one's first event, end to end (log-monitor's heartbeat on DuckDB).
 * - load_ratio: `kpis load-events` of a CSV of BENCH_LOAD_MB MiB (default 1,024) in a child
 *   process, over DuckDB's bare read_csv of the same file into a table (goal <= 1.5), and the
 *   load's peak memory (goal < 1 GB whatever the size). `--load-only` runs just this part.
 * - restate_overhead_ratio and restate_3_days_ratio (bench/restate.ts): the daily run with
 *   restate_days' change check over an unchanged source against it off (goal <= 1.2), and a daily
 *   run after late events on 3 earlier days (goal <= 4 days' work), on the 30-day warehouse.
 *   `--restate-only` runs just this part.
 * - pack_share: the KPI pack's tables' share of the long history's daily run (their statements'
 *   time over the whole run, measured within each run), with each pack table's time; and
 *   engine_overhead_ratio_without_pack, the same run less those statements over the bare GROUP BY.
 * - pack_overhead_ratio: the pack's statements over the textbook queries of the same KPIs and
 *   segments (bench/pack-textbook.ts), in the same round (goal <= 3), and per pack table.
 *   `--etl-only` runs just the daily runs (history_ratio, engine_overhead_ratio, pack_share, pack_overhead_ratio).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadEtlConfig } from '../shared/config/etl-config';
import { loadKpiChecks, type KpiCheck } from '../shared/config/kpi-checks';
import { addDays, daysBetween, startOfDay } from '../shared/dates';
import { checkKpis } from '../shared/monitor/kpi-monitor';
import { writeReport } from '../shared/report/page';
import { planEtl, selectTables } from '../shared/etl/plan';
import { runEtl } from '../shared/etl/run-etl';
import { silentLogger } from '../shared/log';
import { sourceTable } from '../shared/schema';
import { DuckDbWarehouse } from '../shared/warehouse/duckdb';
import { assertSameFigures, textbookPack } from './pack-textbook';
import { restateBench, restateFields, restateLines } from './restate';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    'events-per-day': { type: 'string', default: '1000000' },
    'events-per-user': { type: 'string', default: '50' },
    runs: { type: 'string', default: '9' },
    'history-days': { type: 'string', default: '365' },
    'cold-start-only': { type: 'boolean' },
    'load-only': { type: 'boolean' },
    'restate-only': { type: 'boolean' },
    'etl-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench -- [--json] [--events-per-day N (1000000)] [--events-per-user N (50)] [--runs N (9)] [--history-days N (365)] [--cold-start-only] [--load-only] [--restate-only] [--etl-only]\n' +
      'BENCH_LOAD_MB=N sizes the CSV that load_ratio loads (default 1024 MiB; smaller for a quick run)\n',
  );
  process.exit(0);
}
const EVENTS_PER_DAY = Number(values['events-per-day']);
const RUNS = Number(values.runs);
/**
 * Events per active user and day. The ETL's writes cost per user (one MERGE row per user per
 * table), the bare GROUP BY per event, so the overhead ratio falls as this rises; 50 is a mobile
 * game's design events (sessions, level starts and ends, ads, purchases). Try 20 or 100.
 */
const EVENTS_PER_USER = Number(values['events-per-user']);
const LAST_DAY = '2026-11-26';
const job = loadEtlConfig();
const context = { job: 'bench', runId: 'bench' };
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Time-ordered events, as they arrive. Each day has DAU users with EVENTS_PER_USER events each:
 * 95% returning users (drawn from a pool three times the DAU, one of seven weekday draws) and 5%
 * new users with ids of their own, so installs and last_activity grow with history the way a
 * real app's do. Days are copied from the weekday templates (strings built once), which keeps
 * generating a year of events to a couple of minutes.
 */
async function generateHistory(warehouse: DuckDbWarehouse, days: number, eventsPerDay = EVENTS_PER_DAY): Promise<void> {
  const source = sourceTable('gamepltx', 'fact');
  await warehouse.ensureTable(source);
  const first = addDays(LAST_DAY, -(days - 1));
  const dau = Math.max(20, Math.round(eventsPerDay / EVENTS_PER_USER));
  await warehouse.query(
    `CREATE OR REPLACE TEMP TABLE bench_template AS
     SELECT
       weekday,
       e // @per_user AS slot,
       'u' || CAST(hash(weekday, e // @per_user) % (3 * @dau) AS VARCHAR) AS user_id,
       to_microseconds(CAST(e * 86400000000 // @events AS BIGINT)) AS offset_in_day,
       CASE e % 5 WHEN 0 THEN 'session_start' WHEN 1 THEN 'level_start' WHEN 2 THEN 'level_complete' WHEN 3 THEN 'ad_watched' ELSE 'purchase' END AS event_name,
       CASE e % 5 WHEN 4 THEN 100 + e % 900 WHEN 3 THEN 5 ELSE NULL END AS coins_added
     FROM range(7) AS w(weekday), range(@events) AS r(e)`,
    {
      per_user: { type: 'INT64', value: EVENTS_PER_USER },
      dau: { type: 'INT64', value: dau },
      events: { type: 'INT64', value: eventsPerDay },
    },
    context,
  );
  for (let d = 0; d < days; d += 1) {
    await warehouse.query(
      `INSERT INTO gamepltx.fact (user_id, time, event_name, coins_added)
       SELECT
         CASE WHEN slot % 20 = 0 THEN 'n' || CAST(@day AS VARCHAR) || '_' || CAST(slot AS VARCHAR) ELSE user_id END,
         @day_start + offset_in_day,
         event_name,
         coins_added
       FROM bench_template
       WHERE weekday = @day % 7
       ORDER BY offset_in_day`,
      { day: { type: 'INT64', value: d }, day_start: { type: 'TIMESTAMP', value: startOfDay(addDays(first, d)) } },
      context,
    );
  }
  await warehouse.query('DROP TABLE bench_template', {}, context);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function deps(warehouse: DuckDbWarehouse) {
  return { warehouse, clock: () => new Date(), logger: silentLogger };
}

/** A warehouse file with `days` of events and the KPI tables backfilled up to the day before the last. */
async function prepare(days: number, folder: string, eventsPerDay = EVENTS_PER_DAY): Promise<DuckDbWarehouse> {
  const warehouse = await DuckDbWarehouse.open(path.join(folder, `history-${days}-${eventsPerDay}.duckdb`));
  log(`[bench] ${days} days x ${eventsPerDay.toLocaleString('en-US')} events: generating`);
  await generateHistory(warehouse, days, eventsPerDay);
  log(`[bench] ${days} days: backfilling the KPI tables, 30 days a run`);
  for (let start = addDays(LAST_DAY, -(days - 1)); start < LAST_DAY; start = addDays(start, 30)) {
    const end = addDays(start, 29) < LAST_DAY ? addDays(start, 29) : addDays(LAST_DAY, -1);
    const { failure } = await runEtl(deps(warehouse), job, {
      range: { start, end },
      runId: `backfill-${start}`,
      username: 'bench',
    });
    if (failure) throw failure;
  }
  // Start the timed runs from a clean file, so a checkpoint left over from the backfill does not land in one of them.
  await warehouse.query('CHECKPOINT', {}, context);
  return warehouse;
}

/** The game KPI pack's tables (config/custom, README "KPI pack"). */
const PACK_TABLES = [
  'user_segments',
  'first_purchase',
  'daily_revenue',
  'daily_sessions',
  'daily_engagement',
  'retention',
];

/** Each statement of the daily run, to the table it writes (the plan is pure: the run sends these same strings). */
function statementOwners(warehouse: DuckDbWarehouse): Map<string, string> {
  const owners = new Map<string, string>();
  for (const table of selectTables(job)) {
    for (const statement of planEtl(warehouse, job, [table], { start: LAST_DAY, end: LAST_DAY }).statements)
      owners.set(statement, table.name);
  }
  return owners;
}

/** One daily run, with the time its statements of each pack table took within it. */
async function dailyRunByTable(
  warehouse: DuckDbWarehouse,
  run: number,
): Promise<{ total: number; pack: Map<string, number> }> {
  const owners = statementOwners(warehouse);
  const pack = new Map(PACK_TABLES.map((name) => [name, 0]));
  warehouse.onScriptStatement = (statement, ms) => {
    const owner = owners.get(statement);
    if (owner !== undefined && pack.has(owner)) pack.set(owner, (pack.get(owner) as number) + ms);
  };
  try {
    return { total: await dailyRun(warehouse, run), pack };
  } finally {
    warehouse.onScriptStatement = undefined;
  }
}

async function dailyRun(warehouse: DuckDbWarehouse, run: number): Promise<number> {
  return timed(async () => {
    const { failure } = await runEtl(deps(warehouse), job, {
      range: { start: LAST_DAY, end: LAST_DAY },
      runId: `daily-${run}`,
      username: 'bench',
    });
    if (failure) throw failure;
  });
}

/** The least work any tool could do: one GROUP BY of the day's events into a table. */
function bareGroupBy(warehouse: DuckDbWarehouse): Promise<number> {
  return timed(() =>
    warehouse.query(
      `CREATE OR REPLACE TEMP TABLE bare AS
       SELECT user_id, DATE(time) AS date, COUNT(*) AS total_events, SUM(coins_added) AS total_coins_added
       FROM gamepltx.fact WHERE time >= @start AND time < @end GROUP BY ALL`,
      {
        start: { type: 'TIMESTAMP', value: startOfDay(LAST_DAY) },
        end: { type: 'TIMESTAMP', value: startOfDay(addDays(LAST_DAY, 1)) },
      },
      context,
    ),
  );
}

const HISTORY_DAYS = Number(values['history-days']);

/**
 * A child process that loads a functions entry and, with `event`, serves it and sends it one
 * Pub/Sub CloudEvent; it prints how long the load and the first event took.
 */
const CHILD = `
const started = process.hrtime.bigint();
const [entry, target, testing, event] = process.argv.slice(2);
require(entry);
const loaded = process.hrtime.bigint();
if (!event) { process.stdout.write(JSON.stringify({ load_ms: Number(loaded - started) / 1e6 })); return; }
const { getTestServer } = require(testing);
const server = getTestServer(target);
server.listen(0, '127.0.0.1', async () => {
  const id = 'bench-' + Date.now();
  const body = JSON.stringify({ message: { data: Buffer.from(event).toString('base64'), attributes: {}, messageId: id, publishTime: new Date().toISOString() }, subscription: 'projects/p/subscriptions/s' });
  const headers = { 'content-type': 'application/json', 'ce-id': id, 'ce-specversion': '1.0', 'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished', 'ce-source': '//pubsub.googleapis.com/projects/p/topics/daily-kpis-heartbeat', 'ce-time': new Date().toISOString() };
  const response = await fetch('http://127.0.0.1:' + server.address().port, { method: 'POST', headers, body });
  await response.arrayBuffer();
  const done = process.hrtime.bigint();
  process.stdout.write(JSON.stringify({ load_ms: Number(loaded - started) / 1e6, first_event_ms: Number(done - loaded) / 1e6, status: response.status }));
  server.close();
});
`;

/** Wall time of one child process (node's own start-up included, the same for both), and what it printed. */
function childRun(
  folder: string,
  entry: string,
  target: string,
  env: NodeJS.ProcessEnv,
  event?: string,
): { wall: number; report: { load_ms: number; first_event_ms?: number; status?: number } } {
  const script = path.join(folder, 'cold-start-child.js');
  writeFileSync(script, CHILD);
  const start = process.hrtime.bigint();
  const testing = require.resolve('@google-cloud/functions-framework/testing');
  const child = spawnSync(process.execPath, [script, entry, target, testing, ...(event ? [event] : [])], {
    env: { ...env, FUNCTION_TARGET: target },
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`cold-start child failed: ${child.stderr}`);
  return { wall, report: JSON.parse(child.stdout) as { load_ms: number; first_event_ms?: number; status?: number } };
}

async function coldStart(
  folder: string,
): Promise<{ ratio: number; entryMs: number; helloMs: number; firstEventMs: number; helloFirstEventMs: number }> {
  const hello = path.join(folder, 'hello.js');
  const framework = require.resolve('@google-cloud/functions-framework');
  writeFileSync(
    hello,
    `const functions = require(${JSON.stringify(framework)});\nfunctions.cloudEvent('hello', () => undefined);\n`,
  );
  const entry = path.resolve(__dirname, '../functions/index.js');
  const env = {
    ...process.env,
    KPIS_WAREHOUSE: `duckdb:${path.join(folder, 'cold.duckdb')}`,
    KPIS_TOPICS_DIR: path.join(folder, 'topics'),
    KPIS_LOG_LEVEL: 'ERROR',
  };
  const rounds: { entry: number; hello: number }[] = [];
  for (let run = 0; run < 9; run += 1)
    rounds.push({ hello: childRun(folder, hello, 'hello', env).wall, entry: childRun(folder, entry, 'etl', env).wall });
  const firstHello = childRun(folder, hello, 'hello', env, '{}');
  const first = childRun(folder, entry, 'logMonitor', env, '{}');
  if (first.report.status !== 204) throw new Error(`log-monitor's first event answered ${String(first.report.status)}`);
  return {
    ratio: median(rounds.map((r) => r.entry / r.hello)),
    entryMs: median(rounds.map((r) => r.entry)),
    helloMs: median(rounds.map((r) => r.hello)),
    firstEventMs: first.report.first_event_ms as number,
    helloFirstEventMs: firstHello.report.first_event_ms as number,
  };
}
/** A report's year: demo-sized events (the report reads the KPI tables, and one check the events). */
const REPORT_DAYS = 365;
const REPORT_EVENTS_PER_DAY = 20_000;
const REPORT_CHECKS = 20;

/** The shipped checks, and copies of the built-in series under other names, up to REPORT_CHECKS. */
function reportChecks(): KpiCheck[] {
  const shipped = loadKpiChecks().filter((check) => check.isEnable);
  const series = shipped.filter((check) => check.metric !== null);
  const copies = Array.from({ length: Math.max(0, REPORT_CHECKS - shipped.length) }, (_unused, index) => {
    const original = series[index % series.length] as KpiCheck;
    return { ...original, name: `${original.name}_copy_${index + 1}` };
  });
  return [...shipped, ...copies];
}

/** Reading and judging the report's series, then the whole report, interleaved; the median of each. */
async function reportTimes(
  warehouse: DuckDbWarehouse,
  folder: string,
): Promise<{ read: number; report: number; ratio: number }> {
  const checks = reportChecks();
  const range = { start: addDays(LAST_DAY, -(REPORT_DAYS - 1)), end: LAST_DAY };
  const dates = daysBetween(range.start, range.end);
  const rounds: { read: number; report: number }[] = [];
  for (let run = 0; run < 5; run += 1) {
    const read = await timed(() => checkKpis(warehouse, checks, dates, context, job.timeZone));
    const report = await timed(() =>
      writeReport(
        warehouse,
        job,
        checks,
        { range, generatedAt: new Date(), source: 'bench' },
        path.join(folder, 'report.html'),
        context,
      ),
    );
    rounds.push({ read, report });
  }
  return {
    read: median(rounds.map((r) => r.read)),
    report: median(rounds.map((r) => r.report)),
    ratio: median(rounds.map((r) => r.report / r.read)),
  };
}

/** The CSV load_ratio loads: BENCH_LOAD_MB MiB (a whole number, at least 1). */
const LOAD_MIB = Math.max(1, Math.round(Number(process.env.BENCH_LOAD_MB || 1024)));
/** Bytes a generated event line takes, about (`u123456,2026-11-01 00:00:00,level_start,`). */
const BYTES_PER_EVENT = 41;

/**
 * A CSV of at least LOAD_MIB MiB written by DuckDB's COPY (seconds, where a JavaScript writer takes
 * minutes): 20 days of events in time order, as an app's export arrives, with the demo's names.
 */
async function generateCsv(folder: string): Promise<{ file: string; bytes: number; rows: number }> {
  const file = path.join(folder, 'events.csv');
  const rows = Math.ceil((LOAD_MIB * 1024 * 1024) / BYTES_PER_EVENT);
  const warehouse = await DuckDbWarehouse.open(':memory:');
  try {
    await warehouse.query(
      `COPY (
         SELECT 'u' || (i * 7919 % 1000003) AS user_id,
           strftime(TIMESTAMP '2026-11-01' + to_microseconds(CAST(i * (86400000000.0 * 20 / @rows) AS BIGINT)), '%Y-%m-%d %H:%M:%S') AS time,
           CASE i % 5 WHEN 0 THEN 'session_start' WHEN 1 THEN 'level_start' WHEN 2 THEN 'level_complete' WHEN 3 THEN 'ad_watched' ELSE 'purchase' END AS event_name,
           CASE i % 5 WHEN 4 THEN 100 + i % 900 END AS coins_added
         FROM range(@rows) AS t(i)
       ) TO '${file}' (HEADER, DELIMITER ',')`,
      { rows: { type: 'INT64', value: rows } },
      context,
    );
  } finally {
    await warehouse.close();
  }
  return { file, bytes: statSync(file).size, rows };
}

/** DuckDB's bare read_csv of the file into a table, typed, unchecked (the least work a load can do): wall and CPU ms. */
async function bareReadCsv(folder: string, file: string): Promise<{ ms: number; cpuMs: number }> {
  const warehouse = await DuckDbWarehouse.open(path.join(folder, 'bare.duckdb'));
  const cpu = process.cpuUsage();
  try {
    const ms = await timed(() =>
      warehouse.query(
        `CREATE TABLE bare AS SELECT * FROM read_csv('${file}', header = true, columns = {'user_id': 'VARCHAR', 'time': 'TIMESTAMP', 'event_name': 'VARCHAR', 'coins_added': 'BIGINT'})`,
        {},
        context,
      ),
    );
    const used = process.cpuUsage(cpu);
    return { ms, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    await warehouse.close();
  }
}

/** `kpis load-events FILE` in a child process: its wall time, its CPU time (all threads) and its peak resident memory. */
function loadEventsChild(folder: string, file: string, rows: number): { ms: number; cpuMs: number; maxRssMib: number } {
  const preload = path.join(folder, 'max-rss.js');
  const rssFile = path.join(folder, 'load.rss');
  writeFileSync(
    preload,
    "process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeFileSync(process.env.MAX_RSS_FILE, JSON.stringify(u)); });\n",
  );
  const bin = path.resolve(__dirname, '../../bin/kpis.js');
  const args = [
    '--require',
    preload,
    bin,
    'load-events',
    file,
    '--json',
    '--warehouse',
    `duckdb:${path.join(folder, 'load.duckdb')}`,
  ];
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, {
    cwd: folder,
    env: { ...process.env, KPIS_WAREHOUSE: '', MAX_RSS_FILE: rssFile },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`kpis load-events failed: ${child.stderr}`);
  const loaded = (JSON.parse(child.stdout) as { rows: number }).rows;
  if (loaded !== rows) throw new Error(`kpis load-events loaded ${loaded} rows of ${rows}`);
  const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as NodeJS.ResourceUsage;
  return { ms, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssMib: usage.maxRSS / 1024 };
}

/**
 * Both reads run in this one run, one after the other. The machines here are shared (a load
 * average of 8 on 2 cores is common), so the CPU time of each (all its threads) is printed too:
 * it moves less with the neighbours than the wall time does.
 */
async function loadBench(folder: string): Promise<{
  ratio: number;
  cpuRatio: number;
  loadMs: number;
  bareMs: number;
  maxRssMib: number;
  fileMib: number;
  rows: number;
}> {
  log(`[bench] load: generating a CSV of ${LOAD_MIB.toLocaleString('en-US')} MiB`);
  const { file, bytes, rows } = await generateCsv(folder);
  log(`[bench] load: DuckDB's bare read_csv, then kpis load-events, of ${rows.toLocaleString('en-US')} events`);
  const bare = await bareReadCsv(folder, file);
  const load = loadEventsChild(folder, file, rows);
  rmSync(file, { force: true });
  return {
    ratio: load.ms / bare.ms,
    cpuRatio: load.cpuMs / bare.cpuMs,
    loadMs: load.ms,
    bareMs: bare.ms,
    maxRssMib: load.maxRssMib,
    fileMib: bytes / (1024 * 1024),
    rows,
  };
}

function loadLines(load: Awaited<ReturnType<typeof loadBench>>): string[] {
  return [
    `  load_ratio             ${round(load.ratio)}  (kpis load-events of a ${Math.round(load.fileMib)} MiB CSV / DuckDB's bare read_csv into a table; goal <= 1.5)`,
    `  load                   ${round(load.loadMs)} ms against ${round(load.bareMs)} ms, ${load.rows.toLocaleString('en-US')} events; CPU time ratio ${round(load.cpuRatio)}; peak memory ${Math.round(load.maxRssMib)} MiB (goal < 1024)`,
  ];
}

async function main(): Promise<void> {
  const folder = mkdtempSync(path.join(tmpdir(), 'kpis-bench-'));
  if (values['load-only']) return loadOnly(folder);
  if (values['restate-only']) return restateOnly(folder);
  if (values['cold-start-only']) return coldStartOnly(folder);
  const warehouses: DuckDbWarehouse[] = [];
  try {
    const short = await prepare(30, folder);
    warehouses.push(short);
    const long = await prepare(HISTORY_DAYS, folder);
    warehouses.push(long);
    const { etl, dailyLong } = await etlBench(short, long);
    const etlLines = [
      `daily ETL run on DuckDB, ${EVENTS_PER_DAY.toLocaleString('en-US')} events a day, ${EVENTS_PER_USER} per active user (median of ${RUNS} rounds)`,
      `  history_ratio          ${etl.history_ratio}  (${HISTORY_DAYS} days of history / 30 days; goal <= 1.5)`,
      `  engine_overhead_ratio  ${etl.engine_overhead_ratio}  (daily run / bare GROUP BY of the day; goal <= 3); ${etl.engine_overhead_ratio_without_pack} without the KPI pack's statements`,
      `  pack_share             ${Math.round(etl.pack_share * 100)}% of the daily run: ${etl.pack_ms} ms (${PACK_TABLES.map((name) => `${name} ${etl.pack_table_ms[name]}`).join(', ')})`,
      `  pack_overhead_ratio    ${etl.pack_overhead_ratio}  (the pack's statements / the textbook queries of the same KPIs and segments, ${etl.textbook_pack_ms} ms; goal <= 3): ${PACK_TABLES.map((name) => `${name} ${etl.pack_overhead_ratio_by_table[name]}`).join(', ')}`,
      `  daily run              ${etl.daily_run_ms_30_days} ms with 30 days, ${etl.daily_run_ms_long_history} ms with ${HISTORY_DAYS} days; bare GROUP BY ${etl.bare_group_by_ms} ms`,
    ];
    if (values['etl-only']) {
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ ...etl, events_per_day: EVENTS_PER_DAY, events_per_user: EVENTS_PER_USER, history_days: [30, HISTORY_DAYS], runs: RUNS })}\n`
          : `${etlLines.join('\n')}\n`,
      );
      return;
    }
    await otherBenches(short, folder, warehouses, etl, dailyLong, etlLines);
  } finally {
    for (const warehouse of warehouses) await warehouse.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** --load-only: kpis load-events against DuckDB's bare read_csv. */
async function loadOnly(folder: string): Promise<void> {
  try {
    const load = await loadBench(folder);
    const result = {
      load_ratio: round(load.ratio),
      load_cpu_ratio: round(load.cpuRatio),
      load_ms: round(load.loadMs),
      bare_read_csv_ms: round(load.bareMs),
      load_peak_rss_mib: Math.round(load.maxRssMib),
    };
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${loadLines(load).join('\n')}\n`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** --restate-only: the daily run with the change check, and after late events. */
async function restateOnly(folder: string): Promise<void> {
  const short = await prepare(30, folder);
  try {
    const restate = await restateBench(short, job, LAST_DAY, RUNS);
    process.stdout.write(
      values.json ? `${JSON.stringify(restateFields(restate))}\n` : `${restateLines(restate).join('\n')}\n`,
    );
  } finally {
    await short.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** --cold-start-only: the deployed entry against a hello-world function. */
async function coldStartOnly(folder: string): Promise<void> {
  const cold = await coldStart(folder);
  process.stdout.write(
    `cold_start_ratio ${round(cold.ratio)} (${round(cold.entryMs)} ms against ${round(cold.helloMs)} ms); first event ${round(cold.firstEventMs)} ms against ${round(cold.helloFirstEventMs)} ms\n`,
  );
  rmSync(folder, { recursive: true, force: true });
}

type EtlFigures = Awaited<ReturnType<typeof etlBench>>['etl'];

/**
 * The daily run on both warehouses and the bare GROUP BY. Interleaved, so both warehouses see the
 * same moments of a noisy machine; each ratio is taken within one round, then the median over the rounds.
 */
async function etlBench(short: DuckDbWarehouse, long: DuckDbWarehouse) {
  log(`[bench] timing the daily run on both warehouses and the bare GROUP BY, ${RUNS} rounds`);
  const rounds: EtlRound[] = [];
  const day = { start: startOfDay(LAST_DAY), end: startOfDay(addDays(LAST_DAY, 1)), date: LAST_DAY };
  for (let run = 0; run < RUNS; run += 1) {
    const shortMs = await dailyRun(short, run);
    const longRun = await dailyRunByTable(long, run);
    rounds.push({
      short: shortMs,
      long: longRun.total,
      pack: longRun.pack,
      bare: await bareGroupBy(long),
      textbook: await textbookPack(long, day),
    });
  }
  await assertSameFigures(long, LAST_DAY);
  return { etl: etlFigures(rounds), dailyLong: median(rounds.map((r) => r.long)) };
}

/** One round's times (ms): the daily run on each warehouse, the bare GROUP BY, and the pack's and the textbook queries' by table. */
type EtlRound = { short: number; long: number; bare: number; pack: Map<string, number>; textbook: Map<string, number> };

/** Each figure as the median over the rounds of its value within a round. */
function etlFigures(rounds: EtlRound[]) {
  const sum = (times: Map<string, number>) => [...times.values()].reduce((total, ms) => total + ms, 0);
  const packMs = (r: EtlRound) => sum(r.pack);
  const tableRatio = (name: string) =>
    round(median(rounds.map((r) => (r.pack.get(name) as number) / (r.textbook.get(name) as number))));
  return {
    history_ratio: round(median(rounds.map((r) => r.long / r.short))),
    engine_overhead_ratio: round(median(rounds.map((r) => r.long / r.bare))),
    engine_overhead_ratio_without_pack: round(median(rounds.map((r) => (r.long - packMs(r)) / r.bare))),
    pack_share: round(median(rounds.map((r) => packMs(r) / r.long))),
    pack_overhead_ratio: round(median(rounds.map((r) => packMs(r) / sum(r.textbook)))),
    pack_overhead_ratio_by_table: Object.fromEntries(PACK_TABLES.map((name) => [name, tableRatio(name)])),
    textbook_pack_ms: round(median(rounds.map((r) => sum(r.textbook)))),
    pack_ms: round(median(rounds.map(packMs))),
    pack_table_ms: Object.fromEntries(
      PACK_TABLES.map((name) => [name, round(median(rounds.map((r) => r.pack.get(name) as number)))]),
    ),
    daily_run_ms_30_days: round(median(rounds.map((r) => r.short))),
    daily_run_ms_long_history: round(median(rounds.map((r) => r.long))),
    bare_group_by_ms: round(median(rounds.map((r) => r.bare))),
  };
}

/** The restate, report, cold start and load benches, then every figure printed. */
async function otherBenches(
  short: DuckDbWarehouse,
  folder: string,
  warehouses: DuckDbWarehouse[],
  etl: EtlFigures,
  dailyLong: number,
  etlLines: string[],
): Promise<void> {
  log(
    `[bench] restate_days: the daily run with the change check on and off, then after late events on 3 days, ${RUNS} rounds`,
  );
  const restate = await restateBench(short, job, LAST_DAY, RUNS);
  const year = await prepare(REPORT_DAYS, folder, REPORT_EVENTS_PER_DAY);
  warehouses.push(year);
  log(`[bench] timing the report: ${REPORT_DAYS} days, ${REPORT_CHECKS} checks`);
  const report = await reportTimes(year, folder);
  log('[bench] timing cold starts: the deployed entry against a hello-world function, 9 interleaved rounds');
  const cold = await coldStart(folder);
  const load = await loadBench(folder);
  const result = allFigures(etl, dailyLong, cold, report, load, restate);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  printFigures(result, etlLines, load, restate);
}

/** Each figure's goal, which --json prints beside the figures. */
const GOALS = {
  history_ratio: 1.5,
  engine_overhead_ratio: 3,
  pack_overhead_ratio: 3,
  report_ms: 5000,
  cold_start_ratio: 1.5,
  load_ratio: 1.5,
  load_peak_rss_mib: 1024,
  restate_overhead_ratio: 1.2,
  restate_3_days_ratio: 4,
};

type Measured<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

/** Every figure with its goal, as --json prints them. */
function allFigures(
  etl: EtlFigures,
  dailyLong: number,
  cold: Measured<typeof coldStart>,
  report: Measured<typeof reportTimes>,
  load: Measured<typeof loadBench>,
  restate: Measured<typeof restateBench>,
) {
  return {
    ...etl,
    events_per_second: Math.round(EVENTS_PER_DAY / (dailyLong / 1000)),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    events_per_day: EVENTS_PER_DAY,
    events_per_user: EVENTS_PER_USER,
    history_days: [30, HISTORY_DAYS],
    runs: RUNS,
    cold_start_ratio: round(cold.ratio),
    cold_start_ms: round(cold.entryMs),
    hello_world_ms: round(cold.helloMs),
    first_event_ms: round(cold.firstEventMs),
    hello_world_first_event_ms: round(cold.helloFirstEventMs),
    report_ratio: round(report.ratio),
    report_ms: round(report.report),
    report_read_ms: round(report.read),
    load_ratio: round(load.ratio),
    load_cpu_ratio: round(load.cpuRatio),
    load_ms: round(load.loadMs),
    bare_read_csv_ms: round(load.bareMs),
    load_peak_rss_mib: Math.round(load.maxRssMib),
    load_file_mib: Math.round(load.fileMib),
    ...restateFields(restate),
    goals: GOALS,
  };
}

/** The figures as the lines `npm run bench` prints. */
function printFigures(
  result: ReturnType<typeof allFigures>,
  etlLines: string[],
  load: Measured<typeof loadBench>,
  restate: Measured<typeof restateBench>,
): void {
  process.stdout.write(
    [
      ...etlLines.slice(0, 5),
      `  cold_start_ratio       ${result.cold_start_ratio}  (a process loading the etl function / one loading a hello-world function; goal <= 1.5)`,
      `  cold start             ${result.cold_start_ms} ms against ${result.hello_world_ms} ms; first event ${result.first_event_ms} ms (log-monitor heartbeat on DuckDB) against ${result.hello_world_first_event_ms} ms`,
      `  report_ratio           ${result.report_ratio}  (kpis report, ${REPORT_DAYS} days x ${REPORT_CHECKS} checks / reading and judging the same series)`,
      `  report                 ${result.report_ms} ms (goal < 5000 ms); reading and judging ${result.report_read_ms} ms`,
      ...loadLines(load),
      ...restateLines(restate),
      `  events per second      ${result.events_per_second.toLocaleString('en-US')}`,
      `  peak memory            ${result.peak_rss_mib} MiB`,
      etlLines[5],
      '',
    ].join('\n'),
  );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
