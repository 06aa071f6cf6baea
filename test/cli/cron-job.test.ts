/**
 * Coming from the cron job, as its users would: the three config files in the old shapes, the run
 * log pandas created, and the crontab command lines, with `npx kpis` in place of the scripts. The
 * `kpis` command runs in a child process on a DuckDB file, and on the BigQuery REST fake for the
 * project-id form.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { runKpis, type Run } from '../helpers/cli';
import { historyWithAnomalies } from '../helpers/history';
import { sqlFileLabel } from '../../shared/warehouse/bigquery';

const NOW = '2026-11-27T06:30:00Z';
const GROUP = 'gamepltx_kpis';

const kpis = (args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> =>
  runKpis(args, cwd, NOW, env);

/** The cron job's three config files, exactly in its shapes, with a group not called daily_kpis. */
function oldConfigs(dir: string): Record<'KPIS_CONFIG' | 'KPIS_MONITOR_CONFIG' | 'KPIS_LOG_CONFIG', string> {
  const folder = path.join(dir, 'old-config');
  mkdirSync(folder);
  const table = (description: string) => ({
    dataset_src: 'gamepltx',
    table_src: 'fact',
    dataset_dst: 'daily_kpis',
    description,
    isEnable: true,
  });
  const check = (table_id: string, d1: string) => ({
    dataset: 'daily_kpis',
    table_id,
    thresh_in_percent: 0.3,
    d1,
    description: `${table_id} day over day`,
    isEnable: true,
  });
  const files = {
    KPIS_CONFIG: [
      'daily_kpis_config.json',
      {
        [GROUP]: {
          kpis: {
            daily_user_panel: table('panel'),
            installs: table('installs'),
            last_activity: table('last activity'),
          },
        },
      },
    ],
    KPIS_MONITOR_CONFIG: [
      'kpis_config.json',
      {
        [GROUP]: {
          kpis: {
            dau: check('daily_user_panel', 'dau_d1'),
            installs: check('installs', 'installs_d1'),
            last_activity: check('last_activity', 'last_activity_d1'),
          },
        },
      },
    ],
    KPIS_LOG_CONFIG: [
      'log_config.json',
      {
        [GROUP]: {
          alerts: {
            daily_etl: {
              message: '%--etl-action daily%',
              enable_message: true,
              step_name: 'end',
              file_name: 'daily_kpis_etl.py',
              job_name: GROUP,
              thresh_in_hours: 26,
              description: 'The daily ETL finished within a day and two hours.',
            },
          },
        },
      },
    ],
  } as const;
  return Object.fromEntries(
    Object.entries(files).map(([variable, [name, content]]) => {
      writeFileSync(path.join(folder, name), JSON.stringify(content, null, 2));
      return [variable, path.join(folder, name)];
    }),
  ) as Record<'KPIS_CONFIG' | 'KPIS_MONITOR_CONFIG' | 'KPIS_LOG_CONFIG', string>;
}

/** The run log as pandas created it, with one row of the old script's last run. */
async function pandasRunLog(file: string, finishedAt: string): Promise<void> {
  const warehouse = await DuckDbWarehouse.open(file);
  try {
    await warehouse.query('CREATE SCHEMA logs', {}, { job: 'test', runId: 'setup' });
    await warehouse.query(
      'CREATE TABLE logs.daily_logs (ts TIMESTAMP, dt VARCHAR, uid VARCHAR, username VARCHAR, job_name VARCHAR, job_type VARCHAR, file_name VARCHAR, step_name VARCHAR, step_id BIGINT, log_type VARCHAR, message VARCHAR)',
      {},
      { job: 'test', runId: 'setup' },
    );
    await warehouse.query(
      "INSERT INTO logs.daily_logs VALUES (CAST(@ts AS TIMESTAMP), @dt, 'a1b2c3d4', 'cron', @job, 'etl', 'daily_kpis_etl.py', 'end', 3, 'daily', @message)",
      {
        ts: { type: 'STRING', value: finishedAt.replace('Z', '') },
        dt: { type: 'STRING', value: finishedAt.slice(0, 10) },
        job: { type: 'STRING', value: GROUP },
        message: {
          type: 'STRING',
          value: `daily_kpis_etl.py my-project-1 --etl-name ${GROUP} --etl-action daily --days-back 1`,
        },
      },
      { job: 'test', runId: 'setup' },
    );
  } finally {
    await warehouse.close();
  }
}

async function runLogColumns(file: string, table = 'daily_logs') {
  const warehouse = await DuckDbWarehouse.open(file);
  try {
    return {
      columns: await warehouse.columnsOf('logs', table),
      rows: await warehouse.query(
        `SELECT CAST(dt AS VARCHAR) AS dt, job_name, log_type FROM logs.${table} ORDER BY ts, step_id`,
        {},
        { job: 'test', runId: 'read' },
      ),
    };
  } finally {
    await warehouse.close();
  }
}

const typeOf = (columns: { name: string; type: string }[] | null, name: string) =>
  columns?.find((column) => column.name === name)?.type;

describe('the cron job, switched over to kpis', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cron-'));
  const file = path.join(dir, 'w.duckdb');
  const warehouse = `duckdb:${file}`;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = oldConfigs(dir);
    await pandasRunLog(file, '2026-11-26T06:10:00Z');
    const rows = historyWithAnomalies('2026-11-27', 40, {});
    const csv = [
      'user_id,time,event_name,coins_added',
      ...rows.map((r) => `${r.user_id},${(r.time as Date).toISOString()},${r.event_name ?? ''},${r.coins_added ?? ''}`),
    ];
    writeFileSync(path.join(dir, 'events.csv'), `${csv.join('\n')}\n`);
    expect((await kpis(['load-events', 'events.csv', '--warehouse', warehouse], dir, env)).code).toBe(0);
  });

  test("the old script's fresh run satisfies the old log check; its crontab line's monitor form runs dry", async () => {
    const run = await kpis(
      ['monitor-logs', '--etl-name', GROUP, '--etl-action', 'daily', '--dry-run', '--json', '--warehouse', warehouse],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      expect.objectContaining({
        check: 'daily_etl',
        job_name: GROUP,
        method: 'freshness',
        raise_flag: false,
        last_finished_at: '2026-11-26T06:10:00.000Z',
      }),
      // The old rows have no end/error log_type: no run of it is known to have failed.
      expect.objectContaining({ check: 'daily_etl', method: 'last_run', raise_flag: false }),
    ]);
  });

  test('the crontab ETL line builds the tables and writes its run-log rows in the pandas types', async () => {
    const run = await kpis(
      ['etl', '--etl-name', GROUP, '--etl-action', 'daily', '--days-back', '40', '--warehouse', warehouse],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const log = await runLogColumns(file);
    expect(typeOf(log.columns, 'ts')).toBe('TIMESTAMP');
    expect(typeOf(log.columns, 'dt')).toBe('STRING');
    expect(log.rows.filter((row) => row.job_name === GROUP).at(-1)).toEqual({
      dt: '2026-11-27',
      job_name: GROUP,
      log_type: 'end',
    });
  });

  test('the old kpis_config judges the same three KPIs, last_activity read as returning users without an error', async () => {
    const run = await kpis(
      [
        'monitor',
        '--etl-name',
        GROUP,
        '--etl-action',
        'daily',
        '--days-back',
        '3',
        '--dry-run',
        '--json',
        '--warehouse',
        warehouse,
      ],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as { check: string; date: string; verdict: string; message: string }[];
    expect(new Set(results.map((result) => result.check))).toEqual(new Set(['dau', 'installs', 'last_activity']));
    expect(new Set(results.map((result) => result.date))).toEqual(new Set(['2026-11-24', '2026-11-25', '2026-11-26']));
    expect(results.filter((result) => result.verdict === 'error')).toEqual([]);
    expect(results.find((result) => result.check === 'last_activity')?.message).toContain('returning users');
    // --dry-run published nothing and recorded nothing.
    expect(existsSync(path.join(dir, '.data/topics/daily-kpis-alerts.jsonl'))).toBe(false);
    expect((await runLogColumns(file)).rows.some((row) => row.job_name === 'kpi_monitor')).toBe(false);
  });

  test('once the old script is off, the runs daily-kpis logs keep the old check quiet; a missed day raises', async () => {
    const healthy = await kpis(['monitor-logs', '--json', '--warehouse', warehouse], dir, {
      ...env,
      KPIS_NOW: '2026-11-28T05:00:00Z',
    });
    // The old script's row is 47 hours old by now; the ETL run daily-kpis logged is what counts.
    expect(JSON.parse(healthy.stdout)).toEqual([
      expect.objectContaining({
        method: 'freshness',
        raise_flag: false,
        last_finished_at: expect.stringMatching(/^2026-11-27T06:30:00/),
      }),
      expect.objectContaining({ method: 'last_run', raise_flag: false }),
    ]);
    const missed = await kpis(['monitor-logs', '--json', '--dry-run', '--warehouse', warehouse], dir, {
      ...env,
      KPIS_NOW: '2026-11-29T12:00:00Z',
    });
    expect(JSON.parse(missed.stdout)).toEqual([
      expect.objectContaining({ method: 'freshness', raise_flag: true, reason: 'stale' }),
      expect.objectContaining({ method: 'last_run', raise_flag: false }),
    ]);
  });

  test('a failed run raises through the old log check', async () => {
    const other = path.join(dir, 'broken-source.json');
    writeFileSync(
      other,
      JSON.stringify({
        [GROUP]: { kpis: { daily_user_panel: { dataset_src: 'gamepltx', table_src: 'no_such_table' } } },
      }),
    );
    const later = { ...env, KPIS_NOW: '2026-11-27T07:00:00Z' };
    const failed = await kpis(['etl', '--config', other, '--date', '2026-11-26', '--warehouse', warehouse], dir, later);
    expect(failed.code).toBe(1);
    const run = await kpis(['monitor-logs', '--json', '--dry-run', '--warehouse', warehouse], dir, later);
    expect(JSON.parse(run.stdout)).toEqual([
      expect.objectContaining({ method: 'freshness' }),
      expect.objectContaining({ method: 'last_run', raise_flag: true, reason: 'failed_run' }),
    ]);
  });

  test('migrate-run-log: --dry-run prints the SQL and changes nothing; then it converts, keeps a backup, and the next run writes the new types', async () => {
    const before = await runLogColumns(file);
    const dry = await kpis(['migrate-run-log', '--dry-run', '--warehouse', warehouse], dir, env);
    expect(dry.code).toBe(0);
    // DuckDB has no DATETIME apart from TIMESTAMP, so only dt needs converting here (on BigQuery, ts too).
    expect(dry.stdout).toContain('Would convert dt of logs.daily_logs');
    expect(dry.stdout).toContain('CAST(dt AS DATE) AS dt');
    expect(dry.stdout).toContain('ALTER TABLE logs.daily_logs RENAME TO daily_logs_cron_backup;');
    expect(await runLogColumns(file)).toEqual(before);

    const done = await kpis(['migrate-run-log', '--warehouse', warehouse], dir, env);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const after = await runLogColumns(file);
    expect(typeOf(after.columns, 'ts')).toBe('TIMESTAMP');
    expect(typeOf(after.columns, 'dt')).toBe('DATE');
    expect(after.rows).toEqual(before.rows);
    expect((await runLogColumns(file, 'daily_logs_cron_backup')).rows).toEqual(before.rows);
    expect((await kpis(['migrate-run-log', '--warehouse', warehouse], dir, env)).stdout).toContain(
      "already in daily-kpis' shape",
    );

    const later = { ...env, KPIS_NOW: '2026-11-27T08:00:00Z' };
    expect((await kpis(['etl', '--date', '2026-11-26', '--warehouse', warehouse], dir, later)).code).toBe(0);
    const healthy = await kpis(['monitor-logs', '--json', '--dry-run', '--warehouse', warehouse], dir, later);
    expect(JSON.parse(healthy.stdout)).toEqual([
      expect.objectContaining({ method: 'freshness', raise_flag: false }),
      expect.objectContaining({ method: 'last_run', raise_flag: false }),
    ]);
  });

  test('--etl-action init creates the tables; delete says what it drops and asks for --yes first', async () => {
    expect((await kpis(['etl', '--etl-action', 'init', '--warehouse', warehouse], dir, env)).stdout).toContain(
      'Ready on DuckDB',
    );
    const asked = await kpis(
      ['etl', '--etl-name', GROUP, '--etl-action', 'delete', '--warehouse', warehouse],
      dir,
      env,
    );
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('--etl-action delete drops the KPI tables of');
    expect(asked.stderr).toContain('daily_kpis.daily_user_panel, daily_kpis.installs, daily_kpis.last_activity');
    expect(asked.stderr).toContain('never the source events, the run log or the alert history');
    expect(asked.stderr).toContain('Nothing was dropped: add --yes to drop them.');
    const tables = async () => {
      const opened = await DuckDbWarehouse.open(file);
      try {
        return (
          await opened.query(
            "SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() ORDER BY 1",
            {},
            { job: 'test', runId: 'read' },
          )
        ).map((row) => row.name);
      } finally {
        await opened.close();
      }
    };
    expect(await tables()).toContain('daily_kpis.installs');
    const dropped = await kpis(['etl', '--etl-action', 'delete', '--yes', '--warehouse', warehouse], dir, env);
    expect(dropped.code).toBe(0);
    expect(await tables()).toEqual(expect.arrayContaining(['gamepltx.fact', 'logs.daily_logs']));
    expect((await tables()).filter((name) => String(name).startsWith('daily_kpis.'))).toEqual([]);
  });
});

describe("the predecessor's crontab lines with config groups named unlike the lines' --etl-name", () => {
  // Its users' configs: the ETL group is acme_daily_kpis, but the crontab lines say daily_kpis,
  // kpis and log, and the log check watches the rows the ETL line writes (job_name daily_kpis).
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cron-names-'));
  const file = path.join(dir, 'w.duckdb');
  const warehouse = `duckdb:${file}`;
  const folder = path.join(dir, 'acme');
  const env = {
    KPIS_CONFIG: path.join(folder, 'daily_kpis_config.json'),
    KPIS_MONITOR_CONFIG: path.join(folder, 'kpis_config.json'),
    KPIS_LOG_CONFIG: path.join(folder, 'log_config.json'),
  };
  const jobRows = async () => {
    const opened = await DuckDbWarehouse.open(file);
    try {
      const rows = await opened.query(
        'SELECT DISTINCT job_name, job_type FROM logs.daily_logs ORDER BY 1',
        {},
        { job: 'test', runId: 'read' },
      );
      return rows.map((row) => `${String(row.job_name)}/${String(row.job_type)}`);
    } finally {
      await opened.close();
    }
  };

  beforeAll(async () => {
    mkdirSync(folder);
    const table = {
      dataset_src: 'gamepltx',
      table_src: 'fact',
      dataset_dst: 'daily_kpis',
      description: '',
      isEnable: true,
    };
    const check = (table_id: string) => ({
      dataset: 'daily_kpis',
      table_id,
      thresh_in_percent: 0.3,
      d1: `${table_id}_d1`,
      description: '',
      isEnable: true,
    });
    const alert = { message: '', enable_message: false, step_name: 'end', thresh_in_hours: 26, description: '' };
    writeFileSync(
      env.KPIS_CONFIG,
      JSON.stringify({ acme_daily_kpis: { kpis: { daily_user_panel: table, installs: table, last_activity: table } } }),
    );
    writeFileSync(
      env.KPIS_MONITOR_CONFIG,
      JSON.stringify({ acme_kpis: { kpis: { dau: check('daily_user_panel'), installs: check('installs') } } }),
    );
    // One check names the job as the ETL line writes it; one leaves it out (it follows the ETL).
    writeFileSync(
      env.KPIS_LOG_CONFIG,
      JSON.stringify({
        acme_logs: { alerts: { etl_named: { ...alert, job_name: 'daily_kpis' }, etl_default: alert } },
      }),
    );
    const rows = historyWithAnomalies('2026-11-27', 20, {});
    const csv = [
      'user_id,time,event_name,coins_added',
      ...rows.map((r) => `${r.user_id},${(r.time as Date).toISOString()},${r.event_name ?? ''},${r.coins_added ?? ''}`),
    ];
    writeFileSync(path.join(dir, 'events.csv'), `${csv.join('\n')}\n`);
    expect((await kpis(['load-events', 'events.csv', '--warehouse', warehouse], dir, env)).code).toBe(0);
  });

  test("the ETL line builds the days and writes its --etl-name as the run log's job_name", async () => {
    const run = await kpis(
      ['etl', '--etl-name', 'daily_kpis', '--etl-action', 'daily', '--days-back', '20', '--warehouse', warehouse],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await jobRows()).toEqual(['daily_kpis/etl', 'load_events/load']);
  });

  test('the KPI monitor line runs its checks and records itself as kpis', async () => {
    const run = await kpis(
      [
        'monitor',
        '--etl-name',
        'kpis',
        '--etl-action',
        'daily',
        '--days-back',
        '2',
        '--json',
        '--warehouse',
        warehouse,
      ],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(new Set((JSON.parse(run.stdout) as { check: string }[]).map((result) => result.check))).toEqual(
      new Set(['dau', 'installs']),
    );
    expect(await jobRows()).toContain('kpis/monitor');
  });

  test("the log monitor line finds the ETL line's runs, by its name and by default, and records itself as log", async () => {
    const run = await kpis(
      ['monitor-logs', '--etl-name', 'log', '--etl-action', 'daily', '--json', '--warehouse', warehouse],
      dir,
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as {
      check: string;
      method: string;
      raise_flag: boolean;
      job_name: string;
    }[];
    expect(results.filter((result) => result.method === 'freshness')).toEqual([
      expect.objectContaining({ check: 'etl_named', raise_flag: false, job_name: 'daily_kpis' }),
      expect.objectContaining({ check: 'etl_default', raise_flag: false, job_name: 'daily_kpis' }),
    ]);
    expect(await jobRows()).toContain('log/monitor');
  });
});

describe('bad crontab lines and configs: a clear error naming the flag or file, exit 2, nothing written', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cron-bad-'));
  const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;

  test.each([
    [['etl', '--etl-action', 'purge'], '--etl-action must be one of daily, init, delete, got "purge"'],
    [['monitor', '--etl-action', 'init'], '--etl-action init applies to `kpis etl` only'],
    [['etl', '--etl-name', 'no spaces'], '--etl-name must be a job name'],
    [['monitor', '--etl-name', '__proto__'], '--etl-name must be a job name'],
    [['etl', 'Not_A_Project'], 'PROJECT_ID must be a Google Cloud project id'],
    [
      ['etl', 'my-project-1', '--warehouse', 'duckdb:x.duckdb'],
      'give the project as PROJECT_ID or as --warehouse, not both',
    ],
    [['monitor', '--days-back', '0'], '--days-back must be a whole number of days from 1'],
    [['etl', 'a-project-1', 'another-one'], 'unexpected argument "another-one"'],
  ])('kpis %j', async (args, message) => {
    const run = await kpis(
      [...args, ...(args.includes('--warehouse') || /^[a-z]/.test(args[1] ?? '') ? [] : ['--warehouse', warehouse])],
      dir,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(existsSync(path.join(dir, 'w.duckdb'))).toBe(false);
  });

  test('a log_config in neither shape says which it almost matched and what to change', async () => {
    const file = path.join(dir, 'log_config.json');
    writeFileSync(
      file,
      JSON.stringify({ daily_kpis: { alerts: { etl: { message: '', thresh_in_hours: 26, step: 'end' } } } }),
    );
    const run = await kpis(['monitor-logs', '--log-config', file, '--warehouse', warehouse], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: invalid config, in neither accepted shape`);
    expect(run.stderr).toContain("closest, as the cron job's shape");
    expect(run.stderr).toContain('$.daily_kpis.alerts.etl.step: is not allowed');
    expect(run.stderr).toContain("as daily-kpis' shape");
    expect(existsSync(path.join(dir, 'w.duckdb'))).toBe(false);
  });

  test.each([
    ['constructor', 'is a reserved name'],
    ['toString', 'is not a built-in series'],
    ['hasOwnProperty', 'is not a built-in series'],
  ])('a check named %s: a config error naming the file and the path, not a stack trace', async (name, problem) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ kpis: { [name]: {} } }));
    const run = await kpis(['monitor', '--kpis-config', file, '--warehouse', warehouse], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: invalid config\n  $.kpis.${name}`);
    expect(run.stderr).toContain(problem);
    expect(run.stderr).not.toContain('    at ');
    expect(existsSync(path.join(dir, 'w.duckdb'))).toBe(false);
  });

  test('an unknown time zone in the ETL config', async () => {
    const file = path.join(dir, 'zone.json');
    writeFileSync(
      file,
      JSON.stringify({ daily_kpis: { time_zone: 'Europe/Atlantis', kpis: { daily_user_panel: {} } } }),
    );
    const run = await kpis(['etl', '--config', file, '--warehouse', warehouse], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toContain('unknown time zone "Europe/Atlantis"');
    expect(existsSync(path.join(dir, 'w.duckdb'))).toBe(false);
  });

  test('a run log of any other shape stops the run before anything is written, naming each column and the command that converts it', async () => {
    const file = path.join(dir, 'other.duckdb');
    const opened = await DuckDbWarehouse.open(file);
    await opened.query('CREATE SCHEMA logs', {}, { job: 'test', runId: 'setup' });
    await opened.query(
      'CREATE TABLE logs.daily_logs (ts BIGINT, dt VARCHAR, uid VARCHAR, job_name VARCHAR, log_type VARCHAR, message VARCHAR)',
      {},
      { job: 'test', runId: 'setup' },
    );
    await opened.close();
    const run = await kpis(['etl', '--date', '2026-11-26', '--warehouse', `duckdb:${file}`], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the run log logs.daily_logs has columns daily-kpis cannot read or write');
    expect(run.stderr).toContain("ts is INT64 (expected TIMESTAMP, or DATETIME as the cron job's pandas wrote it)");
    expect(run.stderr).toContain('step_id is missing (expected INT64)');
    expect(run.stderr).toContain('kpis migrate-run-log');
    const after = await DuckDbWarehouse.open(file);
    try {
      expect(
        await after.query(
          "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'daily_kpis'",
          {},
          { job: 'test', runId: 'read' },
        ),
      ).toEqual([]);
    } finally {
      await after.close();
    }
  });
});

describe('the project-id form on BigQuery (the local REST fake)', () => {
  let fake: BigQueryFake;
  beforeEach(async () => {
    fake = await new BigQueryFake().start();
  });
  afterEach(() => fake.stop());

  test('`kpis etl PROJECT_ID --etl-name ... --days-back 1 --dry-run` dry-runs on that project', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cron-bq-'));
    const run = await kpis(
      ['etl', 'my-project-1', '--etl-name', 'daily_kpis', '--etl-action', 'daily', '--days-back', '1', '--dry-run'],
      dir,
      { KPIS_BQ_API_ENDPOINT: fake.url },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Dry run of daily_kpis.daily_user_panel');
    const jobs = fake.jobInserts().map((insert) => ({
      path: insert.path,
      ...(
        insert.body as { configuration: { dryRun?: boolean; labels: Record<string, string>; query: { query: string } } }
      ).configuration,
    }));
    expect(jobs.map((job) => job.path)).toEqual(Array(3).fill('/bigquery/v2/projects/my-project-1/jobs'));
    // What it would restate (restate_days): partition metadata and the run log, read; then the script, dry.
    expect(jobs.map((job) => [job.labels.sql_file ?? null, job.dryRun === true])).toEqual([
      [sqlFileLabel('etl/source_partitions.sql'), false],
      [sqlFileLabel('logs/day_versions.sql'), false],
      [null, true],
    ]);
  });
});
