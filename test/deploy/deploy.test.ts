/**
 * deploy.sh, run for real against stub gcloud and bq first on PATH: they record every call and
 * remember what was created, so a second run shows whether the script is safe to run again.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEtlConfig } from '../../shared/config/etl-config';
import { CLOUD_DEPENDENCIES } from '../../shared/deploy/stage';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { tempDir } from '../helpers/history';

const ROOT = path.resolve(__dirname, '../..');
const STUBS = path.join(__dirname, 'stubs');
const SLACK_URL = 'https://hooks.slack.com/services/T0/B0/deploy-secret-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kpis validate` inside deploy.sh talks to this fake BigQuery instead of Google's. */
let bigquery: BigQueryFake;
beforeEach(async () => {
  bigquery = await new BigQueryFake().start();
  bigquery.results = dryRunSchema;
});
afterEach(() => bigquery.stop());

/**
 * What BigQuery's dry run would say a query returns: the items of its outermost SELECT list (alias, or
 * the column itself), typed from the shipped schemas (every output column of the shipped queries
 * is one of theirs).
 */
function dryRunSchema(sql: string): { fields: { name: string; type: string }[]; rows: unknown[][] } {
  const types = new Map<string, string>([
    ['day', 'DATE'],
    ['value', 'INTEGER'],
    ['segment', 'STRING'],
    ['numerator', 'INTEGER'],
    ['denominator', 'INTEGER'],
  ]);
  for (const table of loadEtlConfig().tables) for (const column of table.columns) types.set(column.name, column.type);
  // The outermost SELECT: what is inside parentheses (a WITH's queries, function arguments) is left out.
  let outer = '';
  let level = 0;
  for (const char of sql.replace(/--[^\n]*/g, '')) {
    level += char === '(' ? 1 : 0;
    if (level === 0) outer += char;
    level -= char === ')' ? 1 : 0;
  }
  const list = /\bSELECT\b([\s\S]*?)\bFROM\b/.exec(outer)?.[1] ?? '';
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of list) {
    depth += char === '(' ? 1 : char === ')' ? -1 : 0;
    if (char === ',' && depth === 0) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  const names = items.map((item) => /(\w+)\s*$/.exec(item.trim())?.[1] ?? '').filter((name) => types.has(name));
  return { fields: names.map((name) => ({ name, type: types.get(name) as string })), rows: [] };
}

function deploy(args: string[], state: string, log: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, PATH: `${STUBS}:${process.env.PATH}`, STUB_STATE: state, STUB_LOG: log, SLACK_WEBHOOK_URL: '', KPIS_BQ_API_ENDPOINT: bigquery.url, ...extraEnv };
    execFile('bash', [path.join(ROOT, 'deploy.sh'), ...args], { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

function workspace() {
  const dir = tempDir('kpis-deploy-');
  const state = path.join(dir, 'state');
  mkdirSync(state);
  return { state, log: path.join(dir, 'calls.log') };
}

/** Each recorded call as its words. */
function calls(log: string): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

const joined = (list: string[][]) => list.map((words) => words.join(' '));
const creates = (list: string[][]) => joined(list).filter((line) => / (create|mk) /.test(line));
const BASE = ['--project', 'game-studio-1', '--region', 'europe-west1'];

test('--help explains; missing or bad options exit 2 and call nothing', async () => {
  const { state, log } = workspace();
  const help = await deploy(['--help'], state, log);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: ./deploy.sh --project PROJECT_ID --region REGION');
  for (const [args, message] of [
    [['--region', 'r'], '--project is required'],
    [['--project', 'p1', '--region', 'r'], '--project must be a project id'],
    [['--project', 'game-studio-1'], '--region is required'],
    [[...BASE, '--max-attempts', '2'], '--max-attempts must be 5 to 100'],
    [[...BASE, '--frobnicate'], 'unknown option --frobnicate'],
  ] as const) {
    const run = await deploy([...args], state, log);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  }
  expect(calls(log)).toEqual([]);
});

test('--dry-run prints every command and calls nothing, and never prints the Slack URL', async () => {
  const { state, log } = workspace();
  const run = await deploy([...BASE, '--dry-run', '--slack-webhook', SLACK_URL], state, log);
  expect(run.code).toBe(0);
  expect(calls(log)).toEqual([]);
  expect(run.stdout).not.toContain('deploy-secret-token');
  expect(run.stdout).toContain('+ gcloud functions deploy daily-kpis-etl --gen2 --runtime=nodejs22 --region=europe-west1');
  expect(run.stdout).toMatch(/\+ env KPIS_BQ_LOCATION=US node \S+\/bin\/kpis\.js validate --warehouse=bigquery:game-studio-1/);
  expect(bigquery.jobInserts()).toEqual([]);
  expect(run.stdout).toContain('+ gcloud scheduler jobs create pubsub daily-kpis-daily --location=europe-west1 --schedule=0\\ 6\\ \\*\\ \\*\\ \\*');
  expect(run.stdout).toContain('Would deploy daily-kpis in game-studio-1 (europe-west1).');
});

test('a first run creates everything with least privilege; a second run creates nothing again', async () => {
  const { state, log } = workspace();
  const first = await deploy([...BASE, '--slack-webhook', SLACK_URL, '--time-zone', 'Europe/Berlin', '--schedule', '30 5 * * *'], state, log);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const made = calls(log);
  const lines = joined(made);

  expect(made[0]?.slice(0, 3)).toEqual(['gcloud', 'services', 'enable']);
  expect(made[0]).toEqual(
    expect.arrayContaining(['bigquery.googleapis.com', 'pubsub.googleapis.com', 'cloudscheduler.googleapis.com', 'secretmanager.googleapis.com', 'eventarc.googleapis.com']),
  );
  // Datasets and tables, partitioned, clustered and described, from the schema declarations.
  expect(lines).toContain('bq --location=US mk --dataset --description=daily-kpis: daily_kpis game-studio-1:daily_kpis');
  const installs = made.find((words) => words.includes('game-studio-1:daily_kpis.installs') && words.includes('mk'));
  expect(installs).toEqual(
    expect.arrayContaining([
      '--table',
      '--time_partitioning_field=install_date',
      '--time_partitioning_type=DAY',
      '--clustering_fields=user_id',
      expect.stringMatching(/^--description=One row per user/),
    ]),
  );
  const schema = JSON.parse(readFileSync(path.join(state, 'bq__game-studio-1_daily_kpis_installs.schema.json'), 'utf8')) as { name: string; type: string; mode: string }[];
  expect(schema.map(({ name, type, mode }) => [name, type, mode])).toEqual([
    ['user_id', 'STRING', 'REQUIRED'],
    ['install_date', 'DATE', 'REQUIRED'],
  ]);
  for (const table of ['gamepltx.fact', 'daily_kpis.last_activity', 'daily_kpis.daily_user_panel', 'logs.daily_logs', 'monitoring.alerts']) {
    expect(lines.some((line) => line.includes(' mk --table ') && line.includes(`game-studio-1:${table}`))).toBe(true);
  }
  // Every query dry-run on BigQuery, once the tables exist and before the first topic.
  expect(first.stdout.indexOf('== Queries')).toBeGreaterThan(first.stdout.indexOf('== BigQuery datasets and tables'));
  expect(first.stdout.indexOf('== Queries')).toBeLessThan(first.stdout.indexOf('== Pub/Sub topics'));
  expect(first.stdout).toContain('All 21 queries are valid.');
  expect(bigquery.jobInserts().length).toBeGreaterThanOrEqual(10);
  expect(bigquery.executed).toEqual([]);
  for (const table of ['daily_kpis.daily_coins']) {
    expect(lines.some((line) => line.includes(' mk --table ') && line.includes(`game-studio-1:${table}`))).toBe(true);
  }
  // Topics, and subscriptions that keep dead letters and alerts.
  for (const topic of ['trigger', 'completed', 'heartbeat', 'alerts', 'dead-letter'])
    expect(lines).toContain(`gcloud pubsub topics create daily-kpis-${topic} --project=game-studio-1`);
  expect(lines).toContain(
    'gcloud pubsub subscriptions create daily-kpis-dead-letter-keep --topic=daily-kpis-dead-letter --message-retention-duration=7d --expiration-period=never --project=game-studio-1',
  );

  // Least privilege: no basic roles; each grant where the function needs it, and nowhere else.
  expect(lines.filter((line) => /roles\/(owner|editor|viewer)\b/.test(line))).toEqual([]);
  // The full grant table: every binding, for every account, and nothing else (README "Deploying").
  const grantTable = lines
    .filter((line) => line.includes('add-iam-policy-binding') && line.includes('serviceAccount:kpis-'))
    .map((line) => {
      const member = /serviceAccount:(kpis-[a-z-]+)@/.exec(line)?.[1];
      const role = /--role=(\S+)/.exec(line)?.[1];
      const words = line.split(' ');
      const verb = words.indexOf('add-iam-policy-binding');
      const on = line.startsWith('gcloud projects')
        ? 'project'
        : line.startsWith('bq')
          ? `${line.includes('--table=true') ? 'table' : 'dataset'} ${words.at(-1)?.replace('game-studio-1:', '')}`
          : `${words[verb - 1]} ${words[verb + 1]}`;
      return `${member} ${role} ${on}`;
    })
    .filter((grant) => !grant.includes('roles/run.invoker') && !grant.includes('functions add-invoker'));
  expect(grantTable).toEqual([
    'kpis-etl roles/bigquery.jobUser project',
    'kpis-kpi-monitor roles/bigquery.jobUser project',
    'kpis-log-monitor roles/bigquery.jobUser project',
    'kpis-build roles/logging.logWriter project',
    'kpis-build roles/artifactregistry.writer project',
    'kpis-build roles/storage.objectViewer project',
    'kpis-etl roles/bigquery.dataViewer dataset gamepltx',
    'kpis-etl roles/bigquery.dataEditor dataset daily_kpis',
    'kpis-kpi-monitor roles/bigquery.dataViewer dataset daily_kpis',
    'kpis-kpi-monitor roles/bigquery.dataViewer dataset gamepltx',
    'kpis-etl roles/bigquery.metadataViewer dataset logs',
    'kpis-etl roles/bigquery.dataEditor table logs.daily_logs',
    'kpis-kpi-monitor roles/bigquery.metadataViewer dataset logs',
    'kpis-kpi-monitor roles/bigquery.dataEditor table logs.daily_logs',
    'kpis-log-monitor roles/bigquery.metadataViewer dataset logs',
    'kpis-log-monitor roles/bigquery.dataEditor table logs.daily_logs',
    'kpis-kpi-monitor roles/bigquery.metadataViewer dataset monitoring',
    'kpis-kpi-monitor roles/bigquery.dataEditor table monitoring.alerts',
    'kpis-log-monitor roles/bigquery.metadataViewer dataset monitoring',
    'kpis-log-monitor roles/bigquery.dataEditor table monitoring.alerts',
    'kpis-etl roles/pubsub.publisher topics daily-kpis-completed',
    'kpis-kpi-monitor roles/pubsub.publisher topics daily-kpis-alerts',
    'kpis-log-monitor roles/pubsub.publisher topics daily-kpis-alerts',
    'kpis-kpi-monitor roles/secretmanager.secretAccessor secrets daily-kpis-slack-webhook',
    'kpis-log-monitor roles/secretmanager.secretAccessor secrets daily-kpis-slack-webhook',
  ]);
  // No function can write a dataset it only reads, nor a table of the run log's or alerts' datasets but theirs.
  expect(grantTable.filter((grant) => grant.includes('dataEditor dataset') && !grant.endsWith('daily_kpis'))).toEqual([]);
  // Cloud Build uses its own account, not the project's default one.
  expect(
    lines
      .filter((line) => line.startsWith('gcloud functions deploy'))
      .every((line) => line.includes('--build-service-account=projects/game-studio-1/serviceAccounts/kpis-build@game-studio-1.iam.gserviceaccount.com')),
  ).toBe(true);

  // The Slack URL went to Secret Manager on stdin only.
  expect(lines).toContain('gcloud secrets create daily-kpis-slack-webhook --replication-policy=automatic --project=game-studio-1');
  expect(readFileSync(path.join(state, 'secret-value'), 'utf8')).toBe(SLACK_URL);
  expect(readFileSync(log, 'utf8')).not.toContain('deploy-secret-token');
  expect(first.stdout).not.toContain('deploy-secret-token');

  // Functions: 2nd gen, nodejs22, the topic, retries, their own account, environment, limits.
  const etl = made.find((words) => words.slice(0, 4).join(' ') === 'gcloud functions deploy daily-kpis-etl');
  // Deployed from the staged folder: compiled code, sql, config, and the cloud dependencies only.
  for (const fn of ['etl', 'kpi-monitor', 'log-monitor']) {
    expect(
      readFileSync(path.join(state, `source-daily-kpis-${fn}.txt`), 'utf8')
        .trim()
        .split('\n')
        .sort(),
    ).toEqual(['.gcloudignore', 'config', 'dist', 'package-lock.json', 'package.json', 'sql']);
    const deployed = JSON.parse(readFileSync(path.join(state, `source-daily-kpis-${fn}.package.json`), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(deployed.dependencies)).toEqual(CLOUD_DEPENDENCIES);
  }
  expect(etl?.find((word) => word.startsWith('--source='))).not.toBe(`--source=${ROOT}`);
  expect(etl).toEqual(
    expect.arrayContaining([
      '--gen2',
      '--runtime=nodejs22',
      '--entry-point=etl',
      '--trigger-topic=daily-kpis-trigger',
      '--retry',
      '--service-account=kpis-etl@game-studio-1.iam.gserviceaccount.com',
      '--set-env-vars=KPIS_WAREHOUSE=bigquery:game-studio-1,KPIS_BQ_LOCATION=US,KPIS_PUBLISHER=pubsub:game-studio-1,KPIS_SECRETS=secret-manager:game-studio-1,KPIS_SLACK_SECRET=daily-kpis-slack-webhook,KPIS_LOG_LEVEL=INFO',
      '--timeout=540s',
      '--memory=512Mi',
    ]),
  );
  expect(
    lines.some((line) => line.startsWith('gcloud functions deploy daily-kpis-kpi-monitor') && line.includes('--entry-point=kpiMonitor --trigger-topic=daily-kpis-completed')),
  ).toBe(true);
  expect(
    lines.some((line) => line.startsWith('gcloud functions deploy daily-kpis-log-monitor') && line.includes('--entry-point=logMonitor --trigger-topic=daily-kpis-heartbeat')),
  ).toBe(true);
  expect(
    lines.some(
      (line) =>
        line.startsWith('gcloud eventarc triggers create daily-kpis-log-monitor-completed') &&
        line.includes('--transport-topic=projects/game-studio-1/topics/daily-kpis-completed'),
    ),
  ).toBe(true);
  // Every function's subscription: bounded deliveries, then the dead-letter topic.
  const bounded = lines.filter((line) => line.startsWith('gcloud pubsub subscriptions update'));
  expect(bounded).toHaveLength(4);
  for (const line of bounded) expect(line).toContain('--dead-letter-topic=daily-kpis-dead-letter --max-delivery-attempts=5');
  expect(bounded[0]).toContain('eventarc-daily-kpis-etl-trigger-sub');
  expect(lines).toContain(
    'gcloud pubsub topics add-iam-policy-binding daily-kpis-dead-letter --member=serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com --role=roles/pubsub.publisher --project=game-studio-1',
  );

  // Scheduler: the daily trigger at the given time and zone, and the hourly heartbeat.
  expect(lines).toContain(
    'gcloud scheduler jobs create pubsub daily-kpis-daily --location=europe-west1 --schedule=30 5 * * * --time-zone=Europe/Berlin --topic=daily-kpis-trigger --message-body={"days_back":1} --project=game-studio-1',
  );
  expect(lines).toContain(
    'gcloud scheduler jobs create pubsub daily-kpis-heartbeat --location=europe-west1 --schedule=0 * * * * --time-zone=Europe/Berlin --topic=daily-kpis-heartbeat --message-body={} --project=game-studio-1',
  );

  // Again, on the deployed project: nothing is created twice; the scheduler jobs are updated.
  const before = made.length;
  const second = await deploy([...BASE, '--time-zone', 'Europe/Berlin'], state, log);
  expect(second.code).toBe(0);
  const again = calls(log).slice(before);
  expect(creates(again)).toEqual([]);
  expect(joined(again).filter((line) => line.startsWith('gcloud scheduler jobs update pubsub'))).toHaveLength(2);
  // The secret exists, so the monitors keep their access to it without a new value.
  expect(joined(again).filter((line) => line.startsWith('gcloud secrets add-iam-policy-binding'))).toHaveLength(2);
  expect(joined(again).some((line) => line.startsWith('gcloud secrets versions add'))).toBe(false);
});

test('a query BigQuery rejects stops the deploy before any topic, account or function, naming the file, line and column', async () => {
  const { state, log } = workspace();
  bigquery.insertBehaviours = [{ kind: 'http-error', status: 400, reason: 'invalidQuery' }];
  bigquery.errorMessage = 'Unrecognized name: coinz at [3:7]';
  const run = await deploy(BASE, state, log);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(
    /daily_kpis_config\.json: \$\.kpis\.daily_user_panel \(etl\/daily_user_panel\.sql:3:7\): BigQuery rejected the query: Unrecognized name: coinz at \[3:7\]/,
  );
  expect(run.stderr).toContain('deploy.sh: kpis validate found problems in the queries (above)');
  expect(joined(calls(log)).filter((line) => !line.startsWith('gcloud services enable') && /pubsub|functions|iam service-accounts|scheduler/.test(line))).toEqual([]);
});

test("the schedules run in the ETL config's time_zone unless --time-zone says otherwise", async () => {
  const { state, log } = workspace();
  const config = path.join(tempDir('kpis-deploy-zone-'), 'daily_kpis_config.json');
  writeFileSync(config, JSON.stringify({ daily_kpis: { time_zone: 'America/Los_Angeles', kpis: { daily_user_panel: {}, installs: {}, last_activity: {} } } }));
  const zoned = await deploy([...BASE, '--dry-run'], state, log, { KPIS_CONFIG: config });
  expect(zoned.code).toBe(0);
  expect(zoned.stdout).toMatch(/\+ gcloud scheduler jobs create pubsub daily-kpis-daily --location=europe-west1 .* --time-zone=America\/Los_Angeles /);
  const told = await deploy([...BASE, '--dry-run', '--time-zone', 'Asia/Tokyo'], state, log, { KPIS_CONFIG: config });
  expect(told.stdout).toContain('--time-zone=Asia/Tokyo');
  expect(told.stdout).not.toContain('America/Los_Angeles');
  const shipped = await deploy([...BASE, '--dry-run'], state, log);
  expect(shipped.stdout).toMatch(/daily-kpis-daily .* --time-zone=UTC /);
});
