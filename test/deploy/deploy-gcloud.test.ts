/**
 * deploy.sh through Google's own CLIs: the real `gcloud` and `bq` of the Cloud SDK, pointed at a
 * stateful local fake of the admin APIs (test/fakes/gcp-admin.ts), and `kpis validate` at the
 * BigQuery fake. What is asserted is the resource graph the fake holds afterwards, not the command
 * lines. Each CLI call costs about a second, so one chain of deploys runs once, in beforeAll:
 *
 *   1. the user's gcloud config has another default project; the fake fails one function create
 *      midway: the deploy stops;
 *   2. the same again: it completes;
 *   3. a gcloud config with no default project, and a new schedule: the only request that changes
 *      anything is the daily job's update;
 *   4. BigQuery rejects a query: the deploy stops at `kpis validate`, before any topic or function.
 *
 * A `--dry-run` runs beside it against its own fake, which must receive nothing. No request may
 * leave 127.0.0.1: every API deploy.sh uses is overridden, and a proxy that does not exist catches
 * anything else, so a missing override fails the deploy loudly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { CLOUD_DEPENDENCIES } from '../../shared/deploy/stage';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { GcpAdminFake, isMutating, type AdminRequest, type Policy } from '../fakes/gcp-admin';
import { tempDir } from '../helpers/history';

const ROOT = path.resolve(__dirname, '../..');
const PROJECT = 'game-studio-1';
const NUMBER = '123456789012';
const REGION = 'europe-west1';
const SLACK_URL = 'https://hooks.slack.com/services/T0/B0/deploy-secret-token';
const CHANNEL_SECRET = 'daily-kpis-slack-growth';
const SECRET_FORMS = [SLACK_URL, Buffer.from(SLACK_URL).toString('base64'), 'deploy-secret-token'];
const BASE = ['--project', PROJECT, '--region', REGION, '--time-zone', 'Europe/Berlin'];
const PUBSUB_AGENT = `serviceAccount:service-${NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const sa = (fn: string) => `kpis-${fn}@${PROJECT}.iam.gserviceaccount.com`;
const topic = (name: string) => `projects/${PROJECT}/topics/daily-kpis-${name}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The fake's requests while this run lasted. */
  requests: AdminRequest[];
}

/**
 * A folder on PATH whose gcloud, bq and node record their arguments and environment, then run the
 * real program: the Slack URL must appear in neither.
 */
function recordingPath(dir: string, log: string): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const program of ['gcloud', 'bq', 'node']) {
    const real = execFileSync('bash', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
    const script = path.join(bin, program);
    writeFileSync(script, `#!/usr/bin/env bash\n{ printf '%s\\0' "$0" "$@"; env; } >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(script, 0o755);
  }
  return `${bin}:${process.env.PATH ?? ''}`;
}

/** A gcloud config folder, with a default project or none, as `gcloud config set project` writes it. */
function gcloudConfig(dir: string, project?: string): string {
  mkdirSync(path.join(dir, 'configurations'), { recursive: true });
  writeFileSync(path.join(dir, 'active_config'), 'default');
  writeFileSync(path.join(dir, 'configurations', 'config_default'), project ? `[core]\nproject = ${project}\n` : '');
  return dir;
}

class Deployer {
  readonly dir = tempDir('kpis-deploy-gcloud-');
  readonly argvLog = path.join(this.dir, 'argv.log');
  private readonly path = recordingPath(this.dir, this.argvLog);

  constructor(
    readonly fake: GcpAdminFake,
    private readonly bigquery: BigQueryFake,
  ) {
    writeFileSync(path.join(this.dir, 'token'), 'ya29.fake-token');
    writeFileSync(path.join(this.dir, 'bigqueryrc'), `--api=${fake.url}\n`);
  }

  /** Runs deploy.sh with a gcloud config whose default project is `defaultProject` (or none). */
  run(args: string[], defaultProject: string | undefined, extraEnv: Record<string, string> = {}): Promise<Run> {
    const config = gcloudConfig(tempDir('kpis-gcloud-config-'), defaultProject);
    const env: Record<string, string> = {
      PATH: this.path,
      HOME: this.dir,
      LANG: 'C.UTF-8',
      CLOUDSDK_CONFIG: config,
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: path.join(this.dir, 'token'),
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
      BIGQUERYRC: path.join(this.dir, 'bigqueryrc'),
      // Anything not sent to the fake goes to a proxy that is not there, and fails.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1',
      METADATA_SERVER_DETECTION: 'none',
      KPIS_BQ_API_ENDPOINT: this.bigquery.url,
      SLACK_WEBHOOK_URL: SLACK_URL,
      ...this.fake.gcloudEnv(),
      ...extraEnv,
    };
    const from = this.fake.requests.length;
    return new Promise((resolve) => {
      execFile(
        'bash',
        [path.join(ROOT, 'deploy.sh'), ...args],
        { env, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({
            code: error ? Number(error.code ?? 1) : 0,
            stdout,
            stderr,
            requests: this.fake.requests.slice(from),
          }),
      );
    });
  }
}

/** The top-level names of a zip archive and the text of one of its files (read from the central directory). */
function zipEntries(zip: Buffer): { names: string[]; read: (name: string) => string } {
  const entries = new Map<string, { method: number; size: number; offset: number }>();
  for (
    let at = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])), i = zip.readUInt32LE(at + 16), n = 0;
    n < zip.readUInt16LE(at + 10);
    n++
  ) {
    const nameLength = zip.readUInt16LE(i + 28);
    const name = zip.toString('utf8', i + 46, i + 46 + nameLength);
    entries.set(name, {
      method: zip.readUInt16LE(i + 10),
      size: zip.readUInt32LE(i + 20),
      offset: zip.readUInt32LE(i + 42),
    });
    i += 46 + nameLength + zip.readUInt16LE(i + 30) + zip.readUInt16LE(i + 32);
  }
  const read = (name: string) => {
    const entry = entries.get(name);
    if (!entry) throw new Error(`${name} is not in the upload`);
    const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
    const data = zip.subarray(start, start + entry.size);
    return (entry.method === 8 ? inflateRawSync(data) : data).toString('utf8');
  };
  return { names: [...new Set([...entries.keys()].map((name) => name.split('/')[0] as string))].sort(), read };
}

const describe_ = (request: AdminRequest) => `${request.method} ${request.api}/${request.path}`;

let fake: GcpAdminFake;
let dryFake: GcpAdminFake;
let bigquery: BigQueryFake;
let deployer: Deployer;
const runs: Run[] = [];
let dry: Run;
let dryDeployer: Deployer;

beforeAll(async () => {
  // An old project (created before 2021-04-08): its Pub/Sub service agent needs the token creator role.
  fake = await new GcpAdminFake({ [PROJECT]: { number: NUMBER, createTime: '2020-06-01T09:00:00.000Z' } }).start();
  dryFake = await new GcpAdminFake({ [PROJECT]: { number: NUMBER } }).start();
  bigquery = await new BigQueryFake().start();
  deployer = new Deployer(fake, bigquery);
  dryDeployer = new Deployer(dryFake, bigquery);
  // The shipped KPI config (its SQL files beside it), plus a named Slack channel: its own secret.
  const config = path.join(tempDir('kpis-deploy-config-'), 'config');
  cpSync(path.join(ROOT, 'config'), config, { recursive: true });
  const kpis = JSON.parse(readFileSync(path.join(config, 'kpis_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    path.join(config, 'kpis_config.json'),
    JSON.stringify({ ...kpis, slack_webhooks: { growth: { secret: CHANNEL_SECRET } } }),
  );
  const channels = { KPIS_MONITOR_CONFIG: path.join(config, 'kpis_config.json') };
  const chain = async () => {
    // The queries of the config in this checkout are validated by kpis validate's own tests; here
    // only a rejected query (run 4) goes through it.
    const skip = [...BASE, '--skip-validate'];
    fake.failures = [/^POST cloudfunctions\/.*functionId=daily-kpis-kpi-monitor/];
    runs.push(await deployer.run(skip, 'someone-elses-project', channels));
    runs.push(await deployer.run(skip, 'someone-elses-project', channels));
    runs.push(await deployer.run([...skip, '--schedule', '30 5 * * *'], undefined, channels));
    bigquery.insertBehaviours = [{ kind: 'http-error', status: 400, reason: 'invalidQuery' }];
    bigquery.errorMessage = 'Unrecognized name: coinz at [3:7]';
    runs.push(await deployer.run([...BASE, '--schedule', '30 5 * * *'], undefined));
  };
  const dryRun = async () => {
    dry = await dryDeployer.run([...BASE, '--dry-run'], 'someone-elses-project', channels);
  };
  await Promise.all([chain(), dryRun()]);
  // About 130 CLI calls of a second each; a loaded machine takes several times longer.
}, 2_400_000);

afterAll(async () => {
  await Promise.all([fake?.stop(), dryFake?.stop(), bigquery?.stop()]);
});

test('a failure midway stops the deploy; the rerun completes, whatever the gcloud config', () => {
  const [failed, completed, rescheduled] = runs as [Run, Run, Run];
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toContain('injected by the test');
  expect(fake.resource(`projects/${PROJECT}/locations/${REGION}/functions/daily-kpis-etl`)).toBeDefined();
  expect(failed.requests.some((request) => request.api === 'cloudscheduler')).toBe(false);
  for (const run of [completed, rescheduled]) {
    expect(run.stderr).not.toMatch(/ERROR|Traceback/);
    expect(run.code).toBe(0);
  }
  expect(completed.stdout).toContain(`Deployed daily-kpis in ${PROJECT} (${REGION}).`);
});

test("the scheduler jobs publish to the deploy's project, with another default project or none", () => {
  const job = (name: string) =>
    fake.resource(`projects/${PROJECT}/locations/${REGION}/jobs/${name}`) as {
      schedule: string;
      timeZone: string;
      pubsubTarget: { topicName: string; data: string };
    };
  const daily = job('daily-kpis-daily');
  expect(daily.pubsubTarget.topicName).toBe(topic('trigger'));
  expect(Buffer.from(daily.pubsubTarget.data, 'base64').toString()).toBe('{"days_back":1}');
  expect([daily.schedule, daily.timeZone]).toEqual(['30 5 * * *', 'Europe/Berlin']);
  const heartbeat = job('daily-kpis-heartbeat');
  expect(heartbeat.pubsubTarget.topicName).toBe(topic('heartbeat'));
  expect([heartbeat.schedule, Buffer.from(heartbeat.pubsubTarget.data, 'base64').toString()]).toEqual([
    '0 * * * *',
    '{}',
  ]);
  // Created under a config whose default project is another one, updated under one with none.
  const [, completed, rescheduled] = runs as [Run, Run, Run];
  expect(completed.requests.filter((r) => r.api === 'cloudscheduler' && isMutating(r)).map((r) => r.method)).toEqual([
    'POST',
    'POST',
  ]);
  const updates = rescheduled.requests.filter(isMutating);
  expect(updates.map(describe_)).toEqual([
    `PATCH cloudscheduler/v1/projects/${PROJECT}/locations/${REGION}/jobs/daily-kpis-daily`,
  ]);
  expect(updates[0]?.body).toContain(topic('trigger'));
  expect(fake.list(/^projects\/someone-elses-project\//)).toEqual([]);
});

test('each function: its topic, retries, runtime, accounts, environment and limits; deployed from the staged folder', () => {
  const expected = [
    ['etl', 'etl', 'trigger', 540, '512Mi', 1],
    ['kpi-monitor', 'kpiMonitor', 'completed', 300, '512Mi', 3],
    ['log-monitor', 'logMonitor', 'heartbeat', 120, '256Mi', 3],
  ] as const;
  for (const [fn, entryPoint, trigger, timeout, memory, maxInstances] of expected) {
    const deployed = fake.resource(`projects/${PROJECT}/locations/${REGION}/functions/daily-kpis-${fn}`) as {
      buildConfig: {
        runtime: string;
        entryPoint: string;
        serviceAccount: string;
        source: { storageSource: { object: string } };
      };
      eventTrigger: { pubsubTopic: string; retryPolicy: string; serviceAccountEmail: string; eventType: string };
      serviceConfig: {
        serviceAccountEmail: string;
        environmentVariables: Record<string, string>;
        timeoutSeconds: number;
        availableMemory: string;
        maxInstanceCount: number;
      };
    };
    expect({
      runtime: deployed.buildConfig.runtime,
      entryPoint: deployed.buildConfig.entryPoint,
      buildAccount: deployed.buildConfig.serviceAccount,
      topic: deployed.eventTrigger.pubsubTopic,
      retry: deployed.eventTrigger.retryPolicy,
      triggerAccount: deployed.eventTrigger.serviceAccountEmail,
      account: deployed.serviceConfig.serviceAccountEmail,
      timeout: deployed.serviceConfig.timeoutSeconds,
      memory: deployed.serviceConfig.availableMemory,
      maxInstances: deployed.serviceConfig.maxInstanceCount,
    }).toEqual({
      runtime: 'nodejs22',
      entryPoint,
      buildAccount: `projects/${PROJECT}/serviceAccounts/${sa('build')}`,
      topic: topic(trigger),
      retry: 'RETRY_POLICY_RETRY',
      triggerAccount: sa(fn),
      account: sa(fn),
      timeout,
      memory,
      maxInstances,
    });
    expect(deployed.serviceConfig.environmentVariables).toEqual({
      KPIS_WAREHOUSE: `bigquery:${PROJECT}`,
      KPIS_BQ_LOCATION: 'US',
      KPIS_PUBLISHER: `pubsub:${PROJECT}`,
      KPIS_SECRETS: `secret-manager:${PROJECT}`,
      KPIS_SLACK_SECRET: 'daily-kpis-slack-webhook',
      KPIS_LOG_LEVEL: 'INFO',
    });
    // The upload: compiled code, sql, config and the cloud dependencies only.
    const upload = fake.uploads.get(deployed.buildConfig.source.storageSource.object.replace(/\.zip$/, ''));
    const zip = zipEntries(upload as Buffer);
    expect(zip.names).toEqual(['.gcloudignore', 'config', 'dist', 'package-lock.json', 'package.json', 'sql']);
    expect(
      Object.keys((JSON.parse(zip.read('package.json')) as { dependencies: Record<string, string> }).dependencies),
    ).toEqual(CLOUD_DEPENDENCIES);
  }
  // log-monitor's second trigger: completion events, as its own account, to its service.
  const completed = fake.resource(
    `projects/${PROJECT}/locations/${REGION}/triggers/daily-kpis-log-monitor-completed`,
  ) as {
    serviceAccount: string;
    transport: { pubsub: { topic: string } };
  };
  expect([completed.serviceAccount, completed.transport.pubsub.topic]).toEqual([sa('log-monitor'), topic('completed')]);
});

test("every function trigger's subscription: bounded deliveries, then the dead-letter topic; dead letters and alerts are kept", () => {
  const triggers = fake
    .list(/\/triggers\/[^/]+$/)
    .map(([, trigger]) => (trigger.transport as { pubsub: { subscription: string } }).pubsub.subscription);
  expect(triggers).toHaveLength(4);
  for (const name of triggers) {
    const subscription = fake.resource(name) as Record<string, unknown>;
    expect({ deadLetterPolicy: subscription.deadLetterPolicy, retryPolicy: subscription.retryPolicy }).toEqual({
      deadLetterPolicy: { deadLetterTopic: topic('dead-letter'), maxDeliveryAttempts: 5 },
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
    });
    expect(fake.policy(name)?.bindings).toEqual([{ role: 'roles/pubsub.subscriber', members: [PUBSUB_AGENT] }]);
  }
  for (const [name, from] of [
    ['daily-kpis-dead-letter-keep', 'dead-letter'],
    ['daily-kpis-alerts-pull', 'alerts'],
  ]) {
    const kept = fake.resource(`projects/${PROJECT}/subscriptions/${name}`) as Record<string, unknown>;
    expect([kept.topic, kept.messageRetentionDuration]).toEqual([topic(from as string), '604800s']);
  }
});

test("the Pub/Sub service agent: publisher on the dead-letter topic, subscriber on the functions' subscriptions, and token creator in a project older than 2021-04-08", () => {
  const projectRoles = fake
    .policy(`projects/${PROJECT}`)
    ?.bindings.filter((b) => b.members.includes(PUBSUB_AGENT))
    .map((b) => b.role);
  expect(projectRoles?.sort()).toEqual(['roles/iam.serviceAccountTokenCreator', 'roles/pubsub.serviceAgent']);
  expect(fake.policy(topic('dead-letter'))?.bindings).toEqual([
    { role: 'roles/pubsub.publisher', members: [PUBSUB_AGENT] },
  ]);
});

/** Every grant to a daily-kpis account, as `account role on`, read back from the fake's policies. */
function grantTable(): string[] {
  const on = (resource: string) =>
    resource === `projects/${PROJECT}`
      ? 'project'
      : resource
          .replace(`projects/${PROJECT}/`, '')
          .replace(/^datasets\/([^/]+)\/tables\/(.+)$/, 'table $1.$2')
          .replace(/^datasets\//, 'dataset ')
          .replace(/^(topics|secrets)\//, '$1 ')
          .replace(/^locations\/[^/]+\/services\//, 'run ');
  const grants: string[] = [];
  for (const [resource, policy] of fake.policies as Map<string, Policy>) {
    for (const binding of policy.bindings)
      for (const member of binding.members) {
        const account = /^serviceAccount:(kpis-[a-z-]+)@/.exec(member)?.[1];
        if (account) grants.push(`${account} ${binding.role} ${on(resource)}`);
      }
  }
  return grants.sort();
}

test("least privilege: the policies hold exactly the README's grant table, and no basic role", () => {
  const grants = grantTable();
  expect(grants).toEqual(
    [
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
      `kpis-kpi-monitor roles/secretmanager.secretAccessor secrets ${CHANNEL_SECRET}`,
      `kpis-log-monitor roles/secretmanager.secretAccessor secrets ${CHANNEL_SECRET}`,
      'kpis-etl roles/run.invoker run daily-kpis-etl',
      'kpis-kpi-monitor roles/run.invoker run daily-kpis-kpi-monitor',
      'kpis-log-monitor roles/run.invoker run daily-kpis-log-monitor',
    ].sort(),
  );
  expect(grants.filter((grant) => /roles\/(owner|editor|viewer) /.test(grant))).toEqual([]);
  // The README's table names no role an account does not hold.
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const account of ['kpis-etl', 'kpis-kpi-monitor', 'kpis-log-monitor', 'kpis-build']) {
    const row = readme.split('\n').find((line) => line.trim().startsWith(`| \`${account}\` |`)) ?? '';
    const held = new Set(
      grants
        .filter((grant) => grant.startsWith(`${account} `))
        .flatMap((grant) => grant.split(' ')[1]?.replace('roles/', '').split('.') ?? []),
    );
    const named = [...row.matchAll(/`([a-z]+\.)?([a-z]+[A-Z]\w*)`/g)].map((match) => match[2] as string);
    expect(named.length).toBeGreaterThan(0);
    for (const role of named) expect(held).toContain(role);
  }
  expect(fake.policy(`projects/${PROJECT}`)?.bindings.filter((b) => b.role === 'roles/owner')).toEqual([
    { role: 'roles/owner', members: ['user:deployer@example.com'] },
  ]);
});

test('BigQuery datasets and tables from their declarations: partitioned, clustered, described', () => {
  const tables = fake
    .list(/^projects\/[^/]+\/datasets\/[^/]+\/tables\/[^/]+$/)
    .map(([name]) => name.replace(`projects/${PROJECT}/datasets/`, ''));
  expect(tables).toEqual(
    expect.arrayContaining([
      'gamepltx/tables/fact',
      'daily_kpis/tables/installs',
      'daily_kpis/tables/daily_coins',
      'logs/tables/daily_logs',
      'monitoring/tables/alerts',
    ]),
  );
  const installs = fake.resource(`projects/${PROJECT}/datasets/daily_kpis/tables/installs`) as {
    timePartitioning: { field: string; type: string };
    clustering: { fields: string[] };
    description: string;
    schema: { fields: { name: string; type: string; mode: string }[] };
  };
  expect([installs.timePartitioning, installs.clustering.fields]).toEqual([
    { field: 'install_date', type: 'DAY' },
    ['user_id'],
  ]);
  expect(installs.description).toMatch(/^One row per user/);
  expect(installs.schema.fields.map(({ name, type, mode }) => [name, type, mode])).toEqual([
    ['user_id', 'STRING', 'REQUIRED'],
    ['install_date', 'DATE', 'REQUIRED'],
  ]);
  expect((fake.resource(`projects/${PROJECT}/datasets/daily_kpis`) as { location: string }).location).toBe('US');
});

test('the Slack URL reaches Secret Manager once, on stdin, and nothing else: no other request, argument, environment or output', () => {
  const versions = fake.list(/\/secrets\/daily-kpis-slack-webhook\/versions\//);
  expect(versions).toHaveLength(1);
  expect(Buffer.from((versions[0]?.[1].payload as { data: string }).data, 'base64').toString()).toBe(SLACK_URL);
  const carrying = fake.requests.filter((request) =>
    SECRET_FORMS.some((form) => request.body.includes(form) || request.path.includes(form)),
  );
  expect(carrying.map(describe_)).toEqual([
    `POST secretmanager/v1/projects/${PROJECT}/secrets/daily-kpis-slack-webhook:addVersion`,
  ]);
  const argv = readFileSync(deployer.argvLog, 'utf8');
  expect(argv).toContain('secrets\0versions\0add');
  for (const form of SECRET_FORMS) {
    expect(argv).not.toContain(form);
    for (const run of [...runs, dry]) expect(run.stdout + run.stderr).not.toContain(form);
  }
});

test("a named Slack channel's secret is created without a value (it is added by hand) and readable by both monitors", () => {
  expect(fake.resource(`projects/${PROJECT}/secrets/${CHANNEL_SECRET}`)).toBeDefined();
  expect(fake.list(new RegExp(`/secrets/${CHANNEL_SECRET}/versions/`))).toEqual([]);
  expect(dry.stdout).toContain(
    `+ gcloud secrets create ${CHANNEL_SECRET} --replication-policy=automatic --project=${PROJECT}`,
  );
});

test('a second run changes nothing but what its options changed: no create, and no other update or policy write', () => {
  const again = runs[2] as Run;
  expect(again.requests.filter(isMutating).map(describe_)).toEqual([
    `PATCH cloudscheduler/v1/projects/${PROJECT}/locations/${REGION}/jobs/daily-kpis-daily`,
  ]);
  expect(again.requests.length).toBeGreaterThan(20);
});

test('a query BigQuery rejects stops the deploy at kpis validate, before any topic, account or function', () => {
  const rejected = runs[3] as Run;
  expect(rejected.code).toBe(2);
  expect(rejected.stderr).toMatch(/\.sql:3:7\): BigQuery rejected the query: Unrecognized name: coinz at \[3:7\]/);
  expect(rejected.stderr).toContain('deploy.sh: kpis validate found problems in the queries (above)');
  expect([...new Set(rejected.requests.map((request) => request.api))].sort()).toEqual(['bigquery', 'serviceusage']);
});

test('--dry-run prints every command and sends no request', () => {
  expect(dry.code).toBe(0);
  expect(dryFake.requests).toEqual([]);
  expect(dry.stdout).toContain(
    '+ gcloud functions deploy daily-kpis-etl --gen2 --runtime=nodejs22 --region=europe-west1',
  );
  expect(dry.stdout).toContain(`--topic=projects/${PROJECT}/topics/daily-kpis-trigger`);
  expect(dry.stdout).toMatch(
    /\+ env KPIS_BQ_LOCATION=US node \S+\/bin\/kpis\.js validate --warehouse=bigquery:game-studio-1/,
  );
  expect(dry.stdout).toContain('Would deploy daily-kpis in game-studio-1 (europe-west1).');
});

test('--help explains; missing or bad options exit 2 and send nothing', async () => {
  const help = await dryDeployer.run(['--help'], undefined);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: ./deploy.sh --project PROJECT_ID --region REGION');
  for (const [args, message] of [
    [['--region', 'r'], '--project is required'],
    [['--project', 'p1', '--region', 'r'], '--project must be a project id'],
    [['--project', PROJECT], '--region is required'],
    [[...BASE, '--max-attempts', '2'], '--max-attempts must be 5 to 100'],
    [[...BASE, '--frobnicate'], 'unknown option --frobnicate'],
  ] as const) {
    const run = await dryDeployer.run([...args], undefined);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  }
  expect(dryFake.requests).toEqual([]);
}, 300_000);

test("the schedules run in the ETL config's time_zone unless --time-zone says otherwise", async () => {
  const config = path.join(tempDir('kpis-deploy-zone-'), 'daily_kpis_config.json');
  writeFileSync(
    config,
    JSON.stringify({
      daily_kpis: { time_zone: 'America/Los_Angeles', kpis: { daily_user_panel: {}, installs: {}, last_activity: {} } },
    }),
  );
  const region = ['--project', PROJECT, '--region', REGION, '--dry-run'];
  const zoned = await dryDeployer.run(region, undefined, { KPIS_CONFIG: config });
  expect(zoned.code).toBe(0);
  expect(zoned.stdout).toMatch(
    /\+ gcloud scheduler jobs create pubsub daily-kpis-daily --location=europe-west1 .* --time-zone=America\/Los_Angeles /,
  );
  const told = await dryDeployer.run([...region, '--time-zone', 'Asia/Tokyo'], undefined, { KPIS_CONFIG: config });
  expect(told.stdout).toContain('--time-zone=Asia/Tokyo');
  expect(told.stdout).not.toContain('America/Los_Angeles');
  const shipped = await dryDeployer.run(region, undefined);
  expect(shipped.stdout).toMatch(/daily-kpis-daily .* --time-zone=UTC /);
  expect(dryFake.requests).toEqual([]);
}, 300_000);
