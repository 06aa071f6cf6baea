/** The `kpis` command as a user runs it: bin/kpis.js in a child process, on a DuckDB file. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BigQueryFake } from '../fakes/bigquery-fake';

const BIN = path.resolve(__dirname, '../../bin/kpis.js');
const NOW = '2026-11-27T06:00:00Z';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kpis(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, KPIS_NOW: NOW, KPIS_WAREHOUSE: '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function workspace(): { dir: string; warehouse: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cli-'));
  return { dir, warehouse: `duckdb:${path.join(dir, 'w.duckdb')}` };
}

describe('kpis help and usage errors', () => {
  const { dir } = workspace();

  test('--help lists the commands; each command has its own --help', async () => {
    const main = await kpis(['--help'], dir);
    expect(main.code).toBe(0);
    for (const command of ['start', 'etl', 'load-events', 'seed-demo', 'init']) expect(main.stdout).toContain(`  ${command}`);
    for (const command of ['start', 'etl', 'load-events', 'seed-demo', 'init']) {
      const help = await kpis([command, '--help'], dir);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: kpis ${command}`);
      expect(help.stdout).toContain('--warehouse SPEC');
    }
  });

  test.each([
    [['etl', '--bogus'], "Unknown option '--bogus'"],
    [['etl', '--date', '2026-11-31'], '--date must be a calendar day as YYYY-MM-DD, got "2026-11-31"'],
    [['etl', '--days-back', 'two'], '--days-back must be a whole number of days'],
    [['etl', '--from', '2026-11-05', '--to', '2026-11-01'], '--from 2026-11-05 is after --to 2026-11-01'],
    [['etl', '--date', '2026-11-01', '--days-back', '2'], 'give only one of'],
    [['etl', '--kpis', 'dau'], 'unknown KPI "dau"; allowed: installs, last_activity, daily_user_panel'],
    [['etl', '--warehouse', 'postgres:x'], '--warehouse must be duckdb:PATH or bigquery:PROJECT_ID'],
    [['etl', '--config', 'missing.json'], 'missing.json: cannot read config file (ENOENT)'],
    [['load-events'], 'load-events takes one FILE'],
    [['load-events', 'x.csv', '--format', 'xlsx'], '--format must be one of csv, jsonl, parquet'],
    [['seed-demo', '--days', '1'], '--days must be a whole number from 2 to 3660'],
    [['init', 'extra'], 'unexpected argument "extra"'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('kpis %j exits 2 with a clear message', async (args, message) => {
    const run = await kpis(args, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  test('no command prints the help and exits 2', async () => {
    const run = await kpis([], dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Usage: kpis COMMAND');
  });
});

describe('kpis on a DuckDB file', () => {
  test('seed-demo, etl and --json: stdout holds exactly one JSON document', async () => {
    const { dir, warehouse } = workspace();
    const seeded = await kpis(['seed-demo', '--days', '14', '--json', '--warehouse', warehouse, '--verbose'], dir);
    expect(seeded.code).toBe(0);
    expect(JSON.parse(seeded.stdout)).toMatchObject({ table: 'gamepltx.fact', days: 14, first_date: '2026-11-14', last_date: '2026-11-27' });
    expect(JSON.parse(seeded.stdout).rows).toBeGreaterThan(1000);

    const again = await kpis(['seed-demo', '--warehouse', warehouse], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds');

    const etl = await kpis(['etl', '--from', '2026-11-14', '--to', '2026-11-26', '--json', '--warehouse', warehouse, '--verbose'], dir);
    expect(etl.code).toBe(0);
    const result = JSON.parse(etl.stdout);
    expect(result).toMatchObject({ status: 'succeeded', start_date: '2026-11-14', end_date: '2026-11-26', job_name: 'daily_kpis', error: null });
    expect(result.dates).toHaveLength(13);
    // --verbose logs went to stderr as JSON lines, none to stdout.
    const logLines = etl.stderr.trim().split('\n');
    expect(logLines.map((line) => JSON.parse(line).severity)).toContain('INFO');

    const human = await kpis(['etl', '--warehouse', warehouse], dir);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ETL succeeded \(run [0-9a-f-]{36}\): daily_kpis.installs, daily_kpis.last_activity, daily_kpis.daily_user_panel for 2026-11-26..2026-11-27/);
  });

  test('--dry-run needs the tables and writes the rendered SQL under .data/sql/', async () => {
    const { dir, warehouse } = workspace();
    expect((await kpis(['seed-demo', '--days', '3', '--warehouse', warehouse], dir)).code).toBe(0);
    const beforeInit = await kpis(['etl', '--date', '2026-11-26', '--dry-run', '--warehouse', warehouse], dir);
    expect(beforeInit.code).toBe(1);
    expect(beforeInit.stderr).toContain('Create the tables first with `kpis init`.');
    const init = await kpis(['init', '--json', '--warehouse', warehouse], dir);
    expect(JSON.parse(init.stdout).tables).toEqual(['gamepltx.fact', 'daily_kpis.installs', 'daily_kpis.last_activity', 'daily_kpis.daily_user_panel', 'logs.daily_logs']);
    const run = await kpis(['etl', '--date', '2026-11-26', '--dry-run', '--json', '--warehouse', warehouse], dir);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ status: 'succeeded', dry_run: true, sql_file: '.data/sql/etl_2026-11-26_2026-11-26.duckdb.sql' });
    expect(readFileSync(path.join(dir, result.sql_file), 'utf8')).toContain('MERGE INTO daily_kpis.installs AS t');
  });

  test('load-events: a malformed file fails with line and column and loads nothing; a good one loads', async () => {
    const { dir, warehouse } = workspace();
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'user_id,time,coins_added\nu1,2026-11-20 10:00:00,5\nu2,2026-11-20 11:00:00,lots\n');
    const failed = await kpis(['load-events', bad, '--warehouse', warehouse], dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${bad}:3: column 3: coins_added: expected a whole number, got "lots"`);

    const good = path.join(dir, 'good.jsonl');
    writeFileSync(good, '{"user_id":"u1","time":"2026-11-20T10:00:00Z","coins_added":5}\n{"user_id":"u2","time":"2026-11-20T11:00:00Z"}\n');
    const loaded = await kpis(['load-events', good, '--json', '--warehouse', warehouse], dir);
    expect(loaded.code).toBe(0);
    expect(JSON.parse(loaded.stdout)).toMatchObject({ rows: 2, format: 'jsonl', table: 'gamepltx.fact' });

    const etl = await kpis(['etl', '--date', '2026-11-20', '--kpis', 'installs', '--json', '--warehouse', warehouse], dir);
    expect(JSON.parse(etl.stdout)).toMatchObject({ status: 'succeeded', tables: ['daily_kpis.installs'] });
  });

  test('start: seeds an empty warehouse, builds the history, and shows the install spike of the last complete day', async () => {
    const { dir } = workspace();
    const run = await kpis(['start', '--json'], dir);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.seeded_events).toBeGreaterThan(100_000);
    expect(report.etl).toMatchObject({ status: 'succeeded', start_date: '2026-10-03', end_date: '2026-11-27' });
    expect(report.date).toBe('2026-11-26');
    expect(report.kpis.installs).toBeGreaterThan(2 * report.previous_kpis.installs);
    expect(report.kpis.dau).toBeGreaterThan(report.kpis.installs);
    // The default warehouse is a file under the working folder.
    expect(existsSync(path.join(dir, '.data/warehouse.duckdb'))).toBe(true);

    const second = await kpis(['start'], dir);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('Seeded');
    expect(second.stdout).toContain('KPIs of 2026-11-26, the last complete day (UTC)');
    expect(second.stdout).toMatch(/installs\s+[\d,]+\s+[\d,]+\s+\+\d+\.\d%/);
  });
});

describe('kpis on BigQuery (the local REST fake)', () => {
  let fake: BigQueryFake;
  beforeEach(async () => {
    fake = await new BigQueryFake().start();
  });
  afterEach(() => fake.stop());

  test('init creates the tables; etl --dry-run prints the bytes BigQuery would process and runs nothing', async () => {
    const { dir } = workspace();
    const env = { KPIS_BQ_API_ENDPOINT: fake.url, KPIS_BQ_LOCATION: 'EU', KPIS_MAX_BYTES_BILLED: '1000000000' };
    const init = await kpis(['init', '--warehouse', 'bigquery:demo-project'], dir, env);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('Ready on BigQuery project demo-project: gamepltx.fact, daily_kpis.installs');
    expect([...fake.tables.keys()]).toHaveLength(5);

    fake.bytesProcessed = 3 * 1024 ** 3;
    const dry = await kpis(['etl', '--date', '2026-11-20', '--dry-run', '--warehouse', 'bigquery:demo-project'], dir, env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would process 3.0 GiB');
    expect(readFileSync(path.join(dir, '.data/sql/etl_2026-11-20_2026-11-20.bigquery.sql'), 'utf8')).toContain('MERGE INTO `demo-project.daily_kpis.installs` AS t');
    const [insert] = fake.jobInserts();
    expect(insert?.body).toMatchObject({ configuration: { dryRun: true, query: { maximumBytesBilled: '1000000000' } }, jobReference: { location: 'EU' } });
    expect(fake.executed).toEqual([]);
  });
});
