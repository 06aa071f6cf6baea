/** The `kpis` command as a user runs it: bin/kpis.js in a child process, on a DuckDB file. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { BIN, runKpis, type Run } from '../helpers/cli';
import { HttpRecorder } from '../fakes/http-recorder';
import { historyWithAnomalies, topicMessages } from '../helpers/history';
import { sqlFileLabel } from '../../shared/warehouse/bigquery';

const NOW = '2026-11-27T06:00:00Z';

const kpis = (args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> =>
  runKpis(args, cwd, NOW, env);

function workspace(): { dir: string; warehouse: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpis-cli-'));
  return { dir, warehouse: `duckdb:${path.join(dir, 'w.duckdb')}` };
}

describe('kpis help and usage errors', () => {
  const { dir } = workspace();

  test('--help lists the commands; each command has its own --help', async () => {
    const main = await kpis(['--help'], dir);
    expect(main.code).toBe(0);
    const commands = [
      'start',
      'etl',
      'load-events',
      'seed-demo',
      'init',
      'monitor',
      'monitor-logs',
      'migrate-run-log',
      'time-zone',
      'schema',
      'validate',
      'serve',
      'publish',
    ];
    for (const command of commands) expect(main.stdout).toContain(`  ${command}`);
    for (const command of commands) {
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
    [['etl', '--kpis', 'dau'], 'unknown KPI "dau"; allowed: daily_user_panel, installs, last_activity'],
    [['etl', '--warehouse', 'postgres:x'], '--warehouse must be duckdb:PATH or bigquery:PROJECT_ID'],
    [['etl', '--config', 'missing.json'], 'missing.json: cannot read config file (ENOENT)'],
    [['load-events'], 'load-events takes one FILE'],
    [['schema'], 'schema needs --dir DIR'],
    [['load-events', 'x.csv', '--format', 'xlsx'], '--format must be one of csv, jsonl, parquet'],
    [['seed-demo', '--days', '1'], '--days must be a whole number from 2 to 3660'],
    [['init', 'extra'], 'unexpected argument "extra"'],
    [['monitor', '--date', '26.11.2026'], '--date must be a calendar day as YYYY-MM-DD, got "26.11.2026"'],
    [
      ['monitor', '--checks', 'dau,retention_d99'],
      '--checks: no check named retention_d99; the config has dau, installs, last_activity, events',
    ],
    [['monitor', '--kpis-config', 'nope.json'], 'nope.json: cannot read config file (ENOENT)'],
    [['monitor-logs', '--log-config', 'nope.json'], 'nope.json: cannot read config file (ENOENT)'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['constructor'], 'unknown command "constructor"'],
    [['toString'], 'unknown command "toString"'],
    [['__proto__'], 'unknown command "__proto__"'],
    [
      ['report', '--from', '2016-01-01', '--to', '2026-01-01'],
      'is 3654 days, more than the 366 a report may cover (KPIS_MAX_RANGE_DAYS)',
    ],
    [['report', '--checks', 'retention_d99'], '--checks: no check named retention_d99'],
  ])('kpis %j exits 2 with a clear message', async (args, message) => {
    const run = await kpis(args, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  test('monitor on a warehouse without KPI tables says to build them first', async () => {
    const { dir: fresh, warehouse } = workspace();
    const run = await kpis(['monitor', '--warehouse', warehouse], fresh);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('does not exist');
    expect(run.stderr).toContain('The KPI tables are not built yet: run `kpis etl` (or `npm start`) first.');
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
    expect(JSON.parse(seeded.stdout)).toMatchObject({
      table: 'gamepltx.fact',
      days: 14,
      first_date: '2026-11-14',
      last_date: '2026-11-27',
    });
    expect(JSON.parse(seeded.stdout).rows).toBeGreaterThan(1000);

    const again = await kpis(['seed-demo', '--warehouse', warehouse], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds');

    const etl = await kpis(
      ['etl', '--from', '2026-11-14', '--to', '2026-11-26', '--json', '--warehouse', warehouse, '--verbose'],
      dir,
    );
    expect(etl.code).toBe(0);
    const result = JSON.parse(etl.stdout);
    expect(result).toMatchObject({
      status: 'succeeded',
      start_date: '2026-11-14',
      end_date: '2026-11-26',
      job_name: 'daily_kpis',
      error: null,
    });
    expect(result.dates).toHaveLength(13);
    // --verbose logs went to stderr as JSON lines, none to stdout.
    const logLines = etl.stderr.trim().split('\n');
    expect(logLines.map((line) => JSON.parse(line).severity)).toContain('INFO');

    const human = await kpis(['etl', '--warehouse', warehouse], dir);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^ETL succeeded \(run [0-9a-f-]{36}\): daily_kpis.daily_user_panel, daily_kpis.installs, daily_kpis.last_activity, daily_kpis.daily_coins, daily_kpis.user_segments, daily_kpis.first_purchase, daily_kpis.daily_revenue, daily_kpis.daily_sessions, daily_kpis.daily_engagement, daily_kpis.retention for 2026-11-26..2026-11-27/,
    );
  });

  test('--dry-run needs the tables and writes the rendered SQL under .data/sql/', async () => {
    const { dir, warehouse } = workspace();
    expect((await kpis(['seed-demo', '--days', '3', '--warehouse', warehouse], dir)).code).toBe(0);
    const beforeInit = await kpis(['etl', '--date', '2026-11-26', '--dry-run', '--warehouse', warehouse], dir);
    expect(beforeInit.code).toBe(1);
    expect(beforeInit.stderr).toContain('Create the tables first with `kpis init`.');
    const init = await kpis(['init', '--json', '--warehouse', warehouse], dir);
    expect(JSON.parse(init.stdout).tables).toEqual([
      'gamepltx.fact',
      'daily_kpis.daily_user_panel',
      'daily_kpis.installs',
      'daily_kpis.last_activity',
      'daily_kpis.daily_coins',
      'daily_kpis.user_segments',
      'daily_kpis.first_purchase',
      'daily_kpis.daily_revenue',
      'daily_kpis.daily_sessions',
      'daily_kpis.daily_engagement',
      'daily_kpis.retention',
      'logs.daily_logs',
      'monitoring.alerts',
    ]);
    const run = await kpis(['etl', '--date', '2026-11-26', '--dry-run', '--json', '--warehouse', warehouse], dir);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      status: 'succeeded',
      dry_run: true,
      sql_file: '.data/sql/etl_2026-11-26_2026-11-26.duckdb.sql',
    });
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
    writeFileSync(
      good,
      '{"user_id":"u1","time":"2026-11-20T10:00:00Z","coins_added":5}\n{"user_id":"u2","time":"2026-11-20T11:00:00Z"}\n',
    );
    const loaded = await kpis(['load-events', good, '--json', '--warehouse', warehouse], dir);
    expect(loaded.code).toBe(0);
    expect(JSON.parse(loaded.stdout)).toMatchObject({ rows: 2, format: 'jsonl', table: 'gamepltx.fact' });

    const etl = await kpis(
      ['etl', '--date', '2026-11-20', '--kpis', 'installs', '--json', '--warehouse', warehouse],
      dir,
    );
    expect(JSON.parse(etl.stdout)).toMatchObject({ status: 'succeeded', tables: ['daily_kpis.installs'] });
  });

  test('start: the whole chain once: seeds, builds the history, triggers the functions, shows the KPIs and the alerts', async () => {
    const { dir } = workspace();
    const run = await kpis(['start', '--json'], dir);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.seeded_events).toBeGreaterThan(100_000);
    expect(report.history_build).toMatchObject({
      status: 'succeeded',
      start_date: '2026-10-03',
      end_date: '2026-11-27',
    });
    // The scheduler's trigger went through the router to the etl function, which built yesterday and today.
    expect(report.etl).toMatchObject({
      status: 'succeeded',
      start_date: '2026-11-26',
      end_date: '2026-11-27',
      run_id: `etl-${report.trigger_message_id}`,
    });
    expect(report.date).toBe('2026-11-26');
    expect(report.kpis.installs).toBeGreaterThan(2 * report.previous_kpis.installs);
    expect(report.kpis.dau).toBeGreaterThan(report.kpis.installs);
    // kpi-monitor ran on the completion event: the demo's install spike is an alert, published once.
    expect(report.alerts.map((alert: { alert_id: string }) => alert.alert_id)).toContain('kpi:installs:2026-11-26');
    expect([...report.new_alert_ids].sort()).toEqual(
      report.alerts.map((alert: { alert_id: string }) => alert.alert_id).sort(),
    );
    expect(report.dead_letters).toBe(0);
    // The default warehouse and the topic files are under the working folder.
    expect(existsSync(path.join(dir, '.data/warehouse.duckdb'))).toBe(true);
    const topic = (name: string) =>
      readFileSync(path.join(dir, '.data/topics', `${name}.jsonl`), 'utf8')
        .trim()
        .split('\n');
    expect(topic('daily-kpis-trigger')).toHaveLength(1);
    expect(topic('daily-kpis-completed')).toHaveLength(1);
    expect(topic('daily-kpis-alerts')).toHaveLength(report.alerts.length);

    const second = await kpis(['start'], dir);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('Seeded');
    expect(second.stdout).toContain('KPIs of 2026-11-26, the last complete day (UTC)');
    expect(second.stdout).toMatch(/installs\s+[\d,]+\s+[\d,]+\s+\+\d+\.\d%/);
    expect(second.stdout).toContain('all published by an earlier run, so not again');
    expect(second.stdout).toContain('! installs on 2026-11-26:');
    expect(topic('daily-kpis-alerts')).toHaveLength(report.alerts.length);
  });
});

test('monitor-logs finds the ETL job whatever its config group is called (no false "no run")', async () => {
  const { dir, warehouse } = workspace();
  const config = path.join(dir, 'game_config.json');
  writeFileSync(
    config,
    JSON.stringify({ my_game: { kpis: { daily_user_panel: {}, installs: {}, last_activity: {} } } }),
  );
  expect((await kpis(['seed-demo', '--days', '5', '--config', config, '--warehouse', warehouse], dir)).code).toBe(0);
  expect((await kpis(['etl', '--config', config, '--warehouse', warehouse], dir)).code).toBe(0);
  const run = await kpis(['monitor-logs', '--json', '--config', config, '--warehouse', warehouse], dir);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual([
    expect.objectContaining({ job_name: 'my_game', method: 'freshness', raise_flag: false }),
    expect.objectContaining({ job_name: 'my_game', method: 'last_run', raise_flag: false }),
  ]);
});

describe('kpis validate', () => {
  test('the shipped configs on the demo: every query valid, exit 0', async () => {
    const { dir, warehouse } = workspace();
    expect((await kpis(['seed-demo', '--days', '20', '--warehouse', warehouse], dir)).code).toBe(0);
    const run = await kpis(['validate', '--warehouse', warehouse], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/table +daily_coins +custom\/daily_coins\.sql +ok/);
    expect(run.stdout).toMatch(/check +events_by_name +custom\/events_by_name\.sql +ok/);
    expect(run.stdout).toContain('All 26 queries are valid.');
  });

  test('a broken query: exit 2, the file, the entry and the SQL file with line and column on stderr', async () => {
    const { dir, warehouse } = workspace();
    expect((await kpis(['seed-demo', '--days', '20', '--warehouse', warehouse], dir)).code).toBe(0);
    const configDir = path.join(dir, 'my-config');
    mkdirSync(path.join(configDir, 'custom'), { recursive: true });
    writeFileSync(
      path.join(configDir, 'custom', 'sessions.sql'),
      "SELECT DATE(time) AS date,\n  COUNTIF(event_nam = 'session_start') AS sessions\nFROM {{source}}\nGROUP BY 1\n",
    );
    const config = path.join(configDir, 'daily_kpis_config.json');
    writeFileSync(
      config,
      JSON.stringify({
        daily_kpis: {
          kpis: {
            daily_user_panel: {},
            sessions: {
              sql: 'custom/sessions.sql',
              strategy: 'replace_days',
              schema: { date: 'DATE', sessions: 'INT64' },
            },
          },
        },
      }),
    );
    const run = await kpis(['validate', '--config', config, '--warehouse', warehouse], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${config}: $.kpis.sessions (custom/sessions.sql:2:11): DuckDB rejected the query:`);
    expect(run.stderr).toContain('Referenced column "event_nam" not found');
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
    expect(init.stdout).toContain(
      'Ready on BigQuery project demo-project: gamepltx.fact, daily_kpis.daily_user_panel, daily_kpis.installs',
    );
    expect([...fake.tables.keys()]).toHaveLength(13);
    expect(fake.tables.get('daily_kpis.daily_coins')).toMatchObject({
      timePartitioning: { type: 'DAY', field: 'date' },
    });
    expect(fake.tables.get('monitoring.alerts')).toMatchObject({
      timePartitioning: { type: 'DAY', field: 'date' },
      clustering: { fields: ['alert_id'] },
    });

    fake.bytesProcessed = 3 * 1024 ** 3;
    const dry = await kpis(
      ['etl', '--date', '2026-11-20', '--dry-run', '--warehouse', 'bigquery:demo-project'],
      dir,
      env,
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would process 3.0 GiB');
    expect(readFileSync(path.join(dir, '.data/sql/etl_2026-11-20_2026-11-20.bigquery.sql'), 'utf8')).toContain(
      'MERGE INTO `demo-project.daily_kpis.installs` AS t',
    );
    const inserts = fake.jobInserts().map(
      (insert) =>
        insert.body as {
          configuration: { dryRun?: boolean; labels: Record<string, string>; query: { query: string } };
          jobReference: { jobId: string };
        },
    );
    expect(inserts.find((body) => body.configuration.dryRun === true)).toMatchObject({
      configuration: { dryRun: true, query: { maximumBytesBilled: '1000000000' } },
      jobReference: { location: 'EU' },
    });
    // It runs only the two reads that decide what it would restate (restate_days): nothing that writes.
    const ran = inserts
      .filter((body) => fake.executed.includes(body.jobReference.jobId))
      .map((body) => body.configuration.labels.sql_file);
    expect(ran).toEqual([sqlFileLabel('etl/source_partitions.sql'), sqlFileLabel('logs/day_versions.sql')]);
    expect(fake.executed).toHaveLength(2);
  });
});

describe('kpis monitor, as a new user tries it: load events, build, check a range', () => {
  const { dir, warehouse } = workspace();
  const anomalies = {
    '2026-11-10': 'new_users_spike',
    '2026-11-14': 'returning_drop',
    '2026-11-19': 'empty',
    '2026-11-23': 'event_burst',
  } as const;
  // The built-in checks and the two examples: the KPI pack's checks have tests of their own.
  const checks = ['--checks', 'dau,installs,last_activity,events,coins,events_by_name'];
  const slack = new HttpRecorder();
  let slackUrl = '';

  beforeAll(async () => {
    slackUrl = `${await slack.start()}/services/T1/B1/cli-secret`;
    const rows = historyWithAnomalies('2026-11-27', 56, anomalies);
    const csv = [
      'user_id,time,event_name,coins_added',
      ...rows.map((r) => `${r.user_id},${(r.time as Date).toISOString()},${r.event_name ?? ''},${r.coins_added ?? ''}`),
    ];
    writeFileSync(path.join(dir, 'events.csv'), `${csv.join('\n')}\n`);
    expect((await kpis(['load-events', 'events.csv', '--warehouse', warehouse], dir)).code).toBe(0);
    expect(
      (await kpis(['etl', '--from', '2026-10-03', '--to', '2026-11-27', '--warehouse', warehouse], dir)).code,
    ).toBe(0);
  });
  afterAll(() => slack.stop());

  test('--json: one array, a result per check and day; every anomaly raised on its day and no other', async () => {
    const run = await kpis(
      ['monitor', '--from', '2026-11-03', '--to', '2026-11-26', '--json', ...checks, '--warehouse', warehouse],
      dir,
    );
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as { check: string; date: string; raise_flag: boolean }[];
    // Ten series a day (five checks, and five event names of the segmented one); on the day
    // without events the segmented check raises once, not once per name.
    expect(results).toHaveLength(23 * 10 + 6);
    expect(Object.keys(results[0] ?? {})).toEqual(
      expect.arrayContaining([
        'check',
        'date',
        'metric',
        'previous_metric',
        'raise_flag',
        'method',
        'threshold',
        'severity',
        'message',
      ]),
    );
    const raisedDays = [...new Set(results.filter((r) => r.raise_flag).map((r) => r.date))];
    expect(raisedDays).toEqual(Object.keys(anomalies));
    // Each raised check is a one-day incident: its alert, and its recovery on a later judged day.
    const statuses = topicMessages(path.join(dir, '.data/topics'), 'daily-kpis-alerts').map(
      (message) => (message.data as { status?: string }).status,
    );
    expect(statuses.filter((status) => status === 'raised')).toHaveLength(26);
    expect(statuses.filter((status) => status !== 'raised' && status !== 'recovered')).toEqual([]);
  });

  test('the default day is yesterday; the table names baseline and result, and Slack gets the run without its URL in any output', async () => {
    const run = await kpis(['monitor', ...checks, '--warehouse', warehouse, '--verbose'], dir, {
      KPIS_SLACK_WEBHOOK_URL: slackUrl,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('KPI checks for 2026-11-26 on DuckDB');
    expect(run.stdout).toMatch(/2026-11-26 +dau +[\d,]+ +[\d,.]+ +[-+][\d.]+% +weekday +ok/);
    expect(run.stdout).toContain(
      '0 raised, 0 published to daily-kpis-alerts (.data/topics/daily-kpis-alerts.jsonl), 26 posted to Slack.',
    );
    // Slack had never been sent the alerts of the earlier run: this run posts them.
    // 26 alerts with their trends are more than one Slack message holds: they go in parts, every one posted.
    const parts = slack.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);
    expect(parts.length).toBeGreaterThan(1);
    parts.forEach((text, index) =>
      expect(text).toContain(
        `*daily-kpis: 26 alerts* from kpi-monitor (2026-11-26) (6 errors) (${index + 1}/${parts.length})`,
      ),
    );
    expect(run.stderr).toContain('alerts posted to Slack');
    expect(`${run.stdout}${run.stderr}`).not.toContain('cli-secret');
    const rows = (await kpis(['monitor', '--date', '2026-11-19', ...checks, '--warehouse', warehouse], dir)).stdout;
    expect(rows).toContain('RAISED (error)');
    expect(rows).toContain('! dau on 2026-11-19: no events at all on this day');
    expect(rows).toContain('0 published to daily-kpis-alerts');
    expect(rows).toContain('6 already published earlier');
  });

  test('monitor-logs: the ETL ran an hour ago, so nothing raises; --json has both conditions', async () => {
    const run = await kpis(['monitor-logs', '--json', '--warehouse', warehouse], dir, {
      KPIS_NOW: '2026-11-27T07:00:00Z',
    });
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as { check: string; method: string; raise_flag: boolean }[];
    expect(results.map((r) => [r.check, r.method, r.raise_flag])).toEqual([
      ['daily_kpis_etl', 'freshness', false],
      ['daily_kpis_etl', 'last_run', false],
    ]);
    const later = await kpis(['monitor-logs', '--warehouse', warehouse], dir, { KPIS_NOW: '2026-11-29T07:00:00Z' });
    expect(later.stdout).toContain('RAISED (stale)');
    expect(later.stdout).toContain('daily_kpis has not finished a run for 49 hours');
  });
});

describe('kpis serve and kpis publish: the functions on local ports, triggered as a user would', () => {
  const { dir, warehouse } = workspace();

  test('serve starts the functions and the router; publish and a curl-style CloudEvent both run the ETL; Ctrl-C stops it', async () => {
    expect((await kpis(['seed-demo', '--days', '14', '--warehouse', warehouse], dir)).code).toBe(0);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--router-port',
        '0',
        '--etl-port',
        '0',
        '--kpi-monitor-port',
        '0',
        '--log-monitor-port',
        '0',
        '--warehouse',
        warehouse,
      ],
      {
        cwd: dir,
        env: { ...process.env, KPIS_NOW: NOW, KPIS_WAREHOUSE: '', KPIS_LOG_LEVEL: 'WARNING' },
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    await waitFor(() => stdout.includes('Stop with Ctrl-C.'));
    const url = (name: string) => new RegExp(`${name}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(stdout)?.[1] as string;

    // The twin of `gcloud pubsub topics publish`.
    const published = await kpis(
      ['publish', 'daily-kpis-trigger', '{"date":"2026-11-25"}', '--router', url('router'), '--json'],
      dir,
    );
    expect(published.code).toBe(0);
    const { message_id: messageId } = JSON.parse(published.stdout);
    await waitFor(() =>
      topicMessages(path.join(dir, '.data/topics'), 'daily-kpis-completed').some(
        (m) => (m.data as { run_id: string }).run_id === `etl-${messageId}`,
      ),
    );

    // The README's curl: a Pub/Sub CloudEvent straight to the etl server, twice.
    const event = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': 'curl-1',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': '//pubsub.googleapis.com/projects/local-project/topics/daily-kpis-trigger',
      },
      body: JSON.stringify({
        message: {
          data: Buffer.from('{"date":"2026-11-24"}').toString('base64'),
          messageId: 'curl-1',
          publishTime: NOW,
        },
        subscription: 'projects/local-project/subscriptions/curl',
      }),
    };
    expect((await fetch(url('etl'), event)).status).toBe(204);
    expect((await fetch(url('etl'), event)).status).toBe(204);
    const runs = topicMessages(path.join(dir, '.data/topics'), 'daily-kpis-completed').filter(
      (m) => (m.data as { run_id: string }).run_id === 'etl-curl-1',
    );
    expect(runs.map((m) => m.attributes.status)).toEqual(['succeeded', 'succeeded']);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('Stopping');
    // Stopped: the router is gone, and publish says how to start it.
    const refused = await kpis(['publish', 'daily-kpis-trigger', '{}', '--router', url('router')], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no local router answers at');
    expect(refused.stderr).toContain('npm run serve');
  });

  test.each([
    [['publish'], "publish takes TOPIC and 'MESSAGE'"],
    [['publish', 'daily-kpis-trigger'], "publish takes TOPIC and 'MESSAGE'"],
    [['publish', 'no such topic', '{}'], 'TOPIC must be a Pub/Sub topic name'],
    [['publish', 'daily-kpis-trigger', '{}', '--attribute', 'novalue'], '--attribute must be KEY=VALUE'],
    [
      ['publish', 'daily-kpis-trigger', '{}', '--attribute', '__proto__=x'],
      '"__proto__": __proto__, constructor, prototype are reserved names',
    ],
    [['serve', '--etl-port', 'eighty'], '--etl-port must be a port number'],
  ])('kpis %j exits 2 with a clear message', async (args, message) => {
    const run = await kpis(args, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
