/**
 * Routing on DuckDB and real HTTP: each check's Slack post goes to its channel's webhook (local
 * webhook servers, URLs read through the real ports from environment variables named in the
 * config), with its owners mentioned, and an ongoing incident shows as one, not as a fresh alert.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { kpiAlert, routedAlert, type Alert } from '../../../shared/alerts/alert';
import { deliverAlerts } from '../../../shared/alerts/deliver';
import { slackMessages } from '../../../shared/alerts/slack';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import type { CheckResult } from '../../../shared/monitor/detect';
import { runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import { openPorts, type Ports } from '../../../shared/ports';
import { HttpRecorder } from '../../fakes/http-recorder';
import { tempDir, topicMessages } from '../../helpers/history';
import { context, openMemoryWarehouse } from '../../helpers/warehouse';
import { parseSettings } from '../../../shared/settings';

/** A whole result of the monitor, as kpiAlert gets it in production. */
const lostDay = (result: CheckResult): CheckResult => result;

const FIRST = '2026-10-01';
const LOST = ['2026-10-05', '2026-10-06', '2026-10-07'];
const DAYS = daysBetween(FIRST, '2026-10-08');

const servers = { default: new HttpRecorder(), growth: new HttpRecorder(), ops: new HttpRecorder() };
let urls: Record<keyof typeof servers, string>;
let ports: Ports;
let configFile: string;

beforeAll(async () => {
  urls = {
    default: `${await servers.default.start()}/services/T0/B0/default-token`,
    growth: `${await servers.growth.start()}/services/T0/B1/growth-token`,
    ops: `${await servers.ops.start()}/services/T0/B2/ops-token`,
  };
  const dir = tempDir('kpis-routing-');
  configFile = path.join(dir, 'kpis_config.json');
  const users = {
    table_id: 'daily_user_panel',
    date_column: 'date',
    value: 'COUNT(*)',
    method: 'pct_change',
    warm_up_days: 0,
    min_training_days: 1,
  };
  writeFileSync(
    configFile,
    JSON.stringify({
      defaults: { owner: 'S0DATATEAM', tags: ['kpi'] },
      slack_webhooks: {
        growth: { secret: 'daily-kpis-slack-growth' },
        ops: { secret: 'daily-kpis-slack-ops', env: 'OPS_SLACK_HOOK' },
        unset: { secret: 'daily-kpis-slack-unset' },
      },
      kpis: {
        users,
        active_users: { ...users, channel: 'growth', owner: ['U0ALICE1', 'S0GROWTH1'], tags: ['growth', 'exec'] },
        panel_rows: { ...users, channel: 'ops' },
        // Its webhook is not set (no variable): its posts go to the default channel.
        user_rows: { ...users, channel: 'unset' },
      },
    }),
  );
  const env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'warehouse.duckdb')}`,
    KPIS_TOPICS_DIR: path.join(dir, 'topics'),
    KPIS_MONITOR_CONFIG: configFile,
    KPIS_SLACK_WEBHOOK_URL: urls.default,
    KPIS_SLACK_WEBHOOK_URL_GROWTH: urls.growth,
    OPS_SLACK_HOOK: urls.ops,
  };
  ports = await openPorts({
    settings: parseSettings({}, env),
    env,
    logger: silentLogger,
    clock: () => new Date('2026-10-09T06:00:00Z'),
  });
  await ports.warehouse.query('CREATE SCHEMA IF NOT EXISTS daily_kpis', {}, context);
  await ports.warehouse.query('CREATE TABLE daily_kpis.daily_user_panel (date DATE, user_id VARCHAR)', {}, context);
  // Test-made dates only, so a literal list is safe here.
  const active = DAYS.filter((day) => !LOST.includes(day)).map((day) => `(DATE '${day}')`);
  await ports.warehouse.query(
    `INSERT INTO daily_kpis.daily_user_panel SELECT t.d, 'u' || CAST(r.u AS VARCHAR) FROM (VALUES ${active.join(', ')}) AS t(d), range(5) AS r(u)`,
    {},
    context,
  );
});

afterAll(async () => {
  await ports?.close();
  await Promise.all(Object.values(servers).map((server) => server.stop()));
});

const posts = (server: HttpRecorder): string[] =>
  server.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);

test("each check's post goes to its channel's webhook with its owners mentioned; ongoing days say since when; the recovery closes them", async () => {
  const checks = loadKpiChecks(configFile);
  const dir = tempDir('kpis-routing-topics-');
  const deps = {
    ...ports,
    publisher: new LocalTopicPublisher(dir),
    clock: () => new Date('2026-10-09T06:00:00Z'),
    logger: silentLogger,
  };
  for (const day of DAYS.slice(3))
    await runKpiMonitor(deps, checks, { dates: [day], runId: `run-${day}`, username: 'test' });

  // The lost days raise every check: each channel got one post a day, for its own check only.
  const [fresh, second, third, recovered] = posts(servers.growth);
  expect(posts(servers.growth)).toHaveLength(4);
  expect(posts(servers.ops)).toHaveLength(4);
  expect(posts(servers.default)).toHaveLength(4);
  expect(
    posts(servers.growth).every(
      (text) => text.includes('active_users') && !text.includes('panel_rows') && !/\busers\[|\n\S*users {2}/.test(text),
    ),
  ).toBe(true);
  expect(posts(servers.ops).every((text) => text.includes('panel_rows') && !text.includes('active_users'))).toBe(true);
  expect(
    posts(servers.default).every(
      (text) => text.includes('user_rows') && !text.includes('active_users') && !text.includes('panel_rows'),
    ),
  ).toBe(true);

  // Owners as Slack markup, after the note, outside the code block; the default's group on the others.
  expect(fresh).toMatch(/^:rotating_light: \*daily-kpis: 1 alert\* /);
  expect(fresh).toContain('*KPI anomalies*');
  expect(fresh).toMatch(/\n• active_users.* cc <@U0ALICE1> <!subteam\^S0GROWTH1>$/);
  expect(posts(servers.ops)[0]).toMatch(/ cc <!subteam\^S0DATATEAM>$/);
  // Later days are the same incident, not fresh alerts.
  expect(second).toMatch(/^:rotating_light: \*daily-kpis: 1 ongoing\* /);
  expect(second).toContain('*Ongoing incidents*');
  expect(second).toContain(`• ongoing since ${LOST[0]} (2 days): `);
  expect(third).toContain(`• ongoing since ${LOST[0]} (3 days): `);
  expect(recovered).toMatch(/^:white_check_mark: \*daily-kpis: 1 recovered\* /);
  expect(recovered).toContain(
    `recovered: active_users no longer raises on ${addDays(LOST[2] as string, 1)}, after 3 days since ${LOST[0]}`,
  );

  // Pub/Sub carries every state, with the tags as attributes for subscription filters.
  const growth = topicMessages(dir, TOPICS.alerts).filter(
    (message) => (message.data as Alert).check === 'active_users',
  );
  expect(growth.map((message) => message.attributes)).toEqual(
    ['raised', 'ongoing', 'ongoing', 'recovered'].map((status) => ({
      kind: 'kpi',
      check: 'active_users',
      severity: 'error',
      status,
      tag_growth: 'true',
      tag_exec: 'true',
    })),
  );
  expect(growth.map((message) => (message.data as Alert).channel)).toEqual(['growth', 'growth', 'growth', 'growth']);
});

const lostAlert = {
  alert_id: 'kpi:dau:2026-10-05',
  kind: 'kpi',
  check: 'dau',
  segment: null,
  date: '2026-10-05',
  metric: 0,
  previous_metric: 5,
  change: -1,
  threshold: 0.1,
  method: 'pct_change',
  message: 'dau lost',
  table: null,
  run_id: 'r',
  raised_at: '2026-10-06T06:00:00.000Z',
  severity: 'error',
} satisfies Alert;

test('an owner id that is not one of Slack id shapes never becomes markup, even from a stored payload', () => {
  const alert = {
    alert_id: 'kpi:dau:2026-10-05',
    kind: 'kpi',
    check: 'dau',
    segment: null,
    date: '2026-10-05',
    metric: 0,
    previous_metric: 5,
    change: -1,
    threshold: 0.1,
    method: 'pct_change',
    message: 'dau lost <!channel>',
    table: null,
    run_id: 'r',
    raised_at: '2026-10-06T06:00:00.000Z',
    severity: 'error',
    owner: ['U0ALICE1', '!channel', 'U0> <!here', 'here'],
  } satisfies Alert;
  const [message] = slackMessages([alert], 'test');
  expect(message?.text).toMatch(/• dau lost &lt;!channel&gt; cc <@U0ALICE1>$/);
  expect(message?.text).not.toContain('<!here');
  expect(message?.text).not.toContain('<!channel');
});

test('a channel whose post fails gives its alerts back for the next run; the other channels post at once', async () => {
  const warehouse = await openMemoryWarehouse();
  const [growth, ops] = [new HttpRecorder(), new HttpRecorder()];
  const hooks = new Map([
    ['growth', `${await growth.start()}/services/T0/B1/growth-token`],
    ['ops', `${await ops.start()}/services/T0/B2/ops-token`],
  ]);
  try {
    const deps = {
      warehouse,
      publisher: new LocalTopicPublisher(tempDir('kpis-routing-topics-')),
      slackWebhook: async (channel?: string) => hooks.get(channel ?? 'default') ?? null,
      slackChannels: async () => [...hooks.keys()],
      clock: () => new Date('2026-10-09T06:00:00Z'),
      logger: silentLogger,
    };
    const raised = (check: string, channel: string): Alert =>
      routedAlert(
        kpiAlert(
          lostDay({
            check,
            segment: null,
            date: '2026-10-08',
            metric: 0,
            previous_metric: 5,
            change: -1,
            score: null,
            raise_flag: true,
            verdict: 'raised',
            method: 'pct_change',
            direction: 'both',
            threshold: 0.1,
            band: null,
            trend: null,
            failure: null,
            severity: 'error',
            message: `${check} lost`,
            table: null,
          }),
          'r1',
          new Date('2026-10-09T06:00:00Z'),
        ),
        { owner: [], channel, tags: [] },
      );
    ops.status = 500;
    const first = await deliverAlerts(deps, [raised('revenue', 'growth'), raised('panel_rows', 'ops')], {
      ...context,
      source: 'test',
    });
    expect(first).toMatchObject({ slack: 'failed', slack_alerts: ['kpi:revenue:2026-10-08'] });
    expect(first.slack_error).toContain('HTTP 500');
    expect(first.slack_error).not.toContain('ops-token');
    ops.status = 200;
    const next = await deliverAlerts(deps, [], { ...context, source: 'test' });
    expect(next).toMatchObject({ slack: 'posted', slack_alerts: ['kpi:panel_rows:2026-10-08'] });
    expect(posts(growth)).toHaveLength(1);
    expect(posts(ops)).toHaveLength(2);
    expect(posts(ops)[1]).toContain('panel_rows lost');
  } finally {
    await Promise.all([growth.stop(), ops.stop(), warehouse.close()]);
  }
});

test('a channel named like an Object property (constructor) is a channel like any other', async () => {
  const warehouse = await openMemoryWarehouse();
  const [main, named] = [new HttpRecorder(), new HttpRecorder()];
  const hooks = new Map([
    ['default', `${await main.start()}/services/T0/B0/main-token`],
    ['constructor', `${await named.start()}/services/T0/B3/named-token`],
  ]);
  try {
    const deps = {
      warehouse,
      publisher: new LocalTopicPublisher(tempDir('kpis-routing-topics-')),
      slackWebhook: async (channel?: string) => hooks.get(channel ?? 'default') ?? null,
      slackChannels: async () => ['constructor'],
      clock: () => new Date('2026-10-09T06:00:00Z'),
      logger: silentLogger,
    };
    const alert = { ...(JSON.parse(JSON.stringify(lostAlert)) as Alert), channel: 'default' };
    const report = await deliverAlerts(deps, [alert], { ...context, source: 'test' });
    expect(report).toMatchObject({ slack: 'posted', slack_alerts: [alert.alert_id] });
    expect([posts(main).length, posts(named).length]).toEqual([1, 0]);
  } finally {
    await Promise.all([main.stop(), named.stop(), warehouse.close()]);
  }
});
