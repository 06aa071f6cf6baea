/** Alert delivery: once per alert on Pub/Sub, one grouped Slack message, failures that lose nothing. */
import { ALERT_SEGMENT_MAX, kpiAlert, pipelineAlert, type Alert } from '../../../shared/alerts/alert';
import { CLAIM_TIMEOUT_MS, deliverAlerts, type AlertDeps } from '../../../shared/alerts/deliver';
import { SLACK_MESSAGE_LIMIT, slackMessages, sparkline } from '../../../shared/alerts/slack';
import { DISPLAY_WIDTH } from '../../../shared/format';
import { ALERTS_TABLE } from '../../../shared/schema';
import { createLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS, type Publisher } from '../../../shared/messaging/publisher';
import type { CheckResult } from '../../../shared/monitor/detect';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { HttpRecorder } from '../../fakes/http-recorder';
import { tempDir, topicMessages } from '../../helpers/history';
import { openMemoryWarehouse } from '../../helpers/warehouse';

const NOW = new Date('2026-11-27T06:00:00Z');
const SECRET_PATH = '/services/T000/B000/very-secret-token';
const context = { job: 'kpi_monitor', runId: 'r1', source: 'kpi-monitor (2026-11-26)' };

function result(check: string, date: string, metric: number, baseline: number): CheckResult {
  return {
    check,
    segment: null,
    date,
    metric,
    previous_metric: baseline,
    change: (metric - baseline) / baseline,
    score: null,
    raise_flag: true,
    verdict: 'raised',
    method: 'weekday',
    direction: 'both',
    threshold: 0.1,
    band: { low: baseline * 0.9, high: baseline * 1.1 },
    trend: null,
    failure: null,
    severity: 'warn',
    message: `${check} on ${date}: ${metric} against ${baseline}`,
    table: 'daily_kpis.daily_user_panel',
  };
}

const TREND = [1000, 980, 1010, 990, 1200, 1210, 1000, 1005, 985, 1000, 995, 1190, 1200, 1500];
const dauSpike = kpiAlert({ ...result('dau', '2026-11-26', 1500, 1000), trend: TREND }, 'r1', NOW);
const installsSpike = kpiAlert(result('installs', '2026-11-26', 400, 130), 'r1', NOW);
const etlFailed = pipelineAlert(
  {
    check: 'daily_kpis_etl',
    date: '2026-11-27',
    reason: 'failed_run',
    message: 'the newest run failed',
    table: 'logs.daily_logs',
  },
  'r1',
  NOW,
);

let warehouse: DuckDbWarehouse;
let slack: HttpRecorder;
let slackUrl: string;
let dir: string;
let logLines: string[];

beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
  slack = new HttpRecorder();
  slackUrl = `${await slack.start()}${SECRET_PATH}`;
  dir = tempDir();
  logLines = [];
});
afterEach(async () => {
  await slack.stop();
  await warehouse.close();
});

function deps(overrides: Partial<AlertDeps> = {}): AlertDeps {
  return {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => NOW),
    slackWebhook: async () => slackUrl,
    clock: () => NOW,
    logger: createLogger({ level: 'DEBUG', write: (line) => logLines.push(line) }),
    ...overrides,
  };
}

test('one Slack message per run groups its alerts into a table, errors first', async () => {
  const report = await deliverAlerts(deps(), [dauSpike, installsSpike, etlFailed], context);
  expect(report).toMatchObject({
    slack: 'posted',
    published: [dauSpike.alert_id, installsSpike.alert_id, etlFailed.alert_id],
  });
  expect(slack.requests).toHaveLength(1);
  const request = slack.requests[0];
  expect(request?.url).toBe(SECRET_PATH);
  expect(request?.headers['content-type']).toBe('application/json');
  const { text } = JSON.parse(request?.body ?? '{}') as { text: string };
  expect(text).toBe(
    [
      ':rotating_light: *daily-kpis: 3 alerts* from kpi-monitor (2026-11-26) (1 error)',
      '*Pipeline*',
      '```',
      'severity  check           date        value  baseline  change',
      'error     daily_kpis_etl  2026-11-27  -      -         failed_run',
      '```',
      '• the newest run failed',
      '*KPI anomalies*',
      '```',
      'severity  check     date        value  baseline  change   last 14 days',
      // Scaled from the trend's 980 to its 1,500; the raised day last, in brackets.
      'warn      dau       2026-11-26  1,500  1,000     +50.0%   ▁▁▁▁▄▄▁▁▁▁▁▄▄[█]',
      '  values: 1,000 980 1,010 990 1,200 1,210 1,000 1,005 985 1,000 995 1,190 1,200 1,500',
      'warn      installs  2026-11-26  400    130       +207.7%',
      '```',
      '• dau on 2026-11-26: 1500 against 1000',
      '• installs on 2026-11-26: 400 against 130',
    ].join('\n'),
  );
});

test('a failed Slack post is logged without the URL, keeps the Pub/Sub alerts, and the next run posts it', async () => {
  slack.status = 500;
  const failed = await deliverAlerts(deps(), [dauSpike], context);
  expect(failed).toMatchObject({
    slack: 'failed',
    published: [dauSpike.alert_id],
    slack_error: 'Slack webhook answered HTTP 500: invalid_token',
  });
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(1);
  expect(logLines.some((line) => line.includes('Slack post failed'))).toBe(true);

  // The next run has nothing new to raise, and still posts what Slack missed; Pub/Sub gets nothing twice.
  slack.status = 200;
  const next = await deliverAlerts(deps(), [dauSpike], { ...context, runId: 'r2' });
  expect(next).toMatchObject({
    slack: 'posted',
    published: [],
    already_published: [dauSpike.alert_id],
    slack_alerts: [dauSpike.alert_id],
  });
  const quiet = await deliverAlerts(deps(), [], { ...context, runId: 'r3' });
  expect(quiet).toMatchObject({ slack: 'nothing_to_post', published: [] });
  expect(slack.requests).toHaveLength(2);
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(1);
  for (const line of logLines) expect(line).not.toContain(SECRET_PATH);
});

test('an unreachable webhook fails with a message that does not name it', async () => {
  await slack.stop();
  const report = await deliverAlerts(deps(), [dauSpike], context);
  expect(report.slack).toBe('failed');
  expect(report.slack_error).toMatch(/^Slack webhook unreachable \(ECONNREFUSED\)$/);
  expect(JSON.stringify(report)).not.toContain(SECRET_PATH);
  for (const line of logLines) expect(line).not.toContain(SECRET_PATH);
});

test('a secret that cannot be read turns Slack off for the run; the alerts still go out', async () => {
  const report = await deliverAlerts(
    deps({ slackWebhook: () => Promise.reject(new Error('PERMISSION_DENIED on secret daily-kpis-slack-webhook')) }),
    [dauSpike],
    context,
  );
  expect(report).toMatchObject({ slack: 'failed', published: [dauSpike.alert_id] });
  expect(report.slack_error).toContain('PERMISSION_DENIED');
  expect(slack.requests).toHaveLength(0);
});

test('no webhook: Slack is off, and nothing is posted', async () => {
  const report = await deliverAlerts(deps({ slackWebhook: async () => null }), [dauSpike], context);
  expect(report).toMatchObject({ slack: 'off', published: [dauSpike.alert_id] });
  expect(slack.requests).toHaveLength(0);
});

test('a publish that fails gives its claims back and throws; the retry publishes them', async () => {
  const local = new LocalTopicPublisher(dir, () => NOW);
  let calls = 0;
  const flaky: Publisher = {
    publish: async (topic, data, attributes) => {
      calls += 1;
      if (calls === 2) throw new Error('UNAVAILABLE: broker restarting');
      return local.publish(topic, data, attributes);
    },
    publishRaw: (topic, data, attributes) => local.publishRaw(topic, data, attributes),
    close: async () => undefined,
  };
  const alerts: Alert[] = [dauSpike, installsSpike, etlFailed];
  await expect(
    deliverAlerts(deps({ publisher: flaky, slackWebhook: async () => null }), alerts, context),
  ).rejects.toThrow('UNAVAILABLE');
  expect(topicMessages(dir, TOPICS.alerts).map((m) => (m.data as Alert).alert_id)).toEqual([dauSpike.alert_id]);
  const retry = await deliverAlerts(deps({ publisher: flaky, slackWebhook: async () => null }), alerts, {
    ...context,
    runId: 'r1-retry',
  });
  expect(retry.published).toEqual([installsSpike.alert_id, etlFailed.alert_id]);
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(3);
});

describe('at least once: a claim never marked delivered is taken again after the timeout', () => {
  const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);
  const published = () => topicMessages(dir, TOPICS.alerts).map((m) => (m.data as Alert).alert_id);

  test('an invocation that died between the claim and the publish: nothing goes out while its claim is fresh, everything once it is stale', async () => {
    // The publish never returns: the function instance was killed while waiting for the broker.
    const dying: Publisher = {
      publish: () => new Promise<string>(() => undefined),
      publishRaw: () => new Promise<string>(() => undefined),
      close: async () => undefined,
    };
    void deliverAlerts(deps({ publisher: dying, slackWebhook: async () => null }), [dauSpike, installsSpike], context);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(published()).toEqual([]);

    const soon = await deliverAlerts(
      deps({ clock: () => minutes(5), slackWebhook: async () => null }),
      [dauSpike, installsSpike],
      { ...context, runId: 'r2' },
    );
    expect(soon).toMatchObject({ published: [], already_published: [dauSpike.alert_id, installsSpike.alert_id] });

    const late = await deliverAlerts(
      deps({ clock: () => minutes(CLAIM_TIMEOUT_MS / 60_000 + 1), slackWebhook: async () => null }),
      [dauSpike, installsSpike],
      {
        ...context,
        runId: 'r3',
      },
    );
    expect(late.published).toEqual([dauSpike.alert_id, installsSpike.alert_id]);
    // Delivered now: no later run sends them again, however late.
    const later = await deliverAlerts(
      deps({ clock: () => minutes(600), slackWebhook: async () => null }),
      [dauSpike, installsSpike],
      { ...context, runId: 'r4' },
    );
    expect(later.published).toEqual([]);
    expect(published()).toEqual([dauSpike.alert_id, installsSpike.alert_id]);
  });

  test('Slack too: a post that never returned is posted again once its claim is stale, and then never again', async () => {
    await deliverAlerts(deps({ slackWebhook: async () => null }), [dauSpike], context);
    // The instance dies while Slack keeps the request open: its Slack claim is left behind.
    slack.hang = true;
    void deliverAlerts(deps(), [], { ...context, runId: 'dying' });
    while (slack.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    slack.hang = false;
    const fresh = await deliverAlerts(deps({ clock: () => minutes(1) }), [], { ...context, runId: 'r2' });
    const stale = await deliverAlerts(deps({ clock: () => minutes(CLAIM_TIMEOUT_MS / 60_000 + 1) }), [], {
      ...context,
      runId: 'r3',
    });
    const after = await deliverAlerts(deps({ clock: () => minutes(30) }), [], { ...context, runId: 'r4' });
    expect([fresh.slack, stale.slack_alerts, after.slack]).toEqual([
      'nothing_to_post',
      [dauSpike.alert_id],
      'nothing_to_post',
    ]);
    expect(slack.requests).toHaveLength(2);
  });

  test('an alerts table from before delivered_at gains the column, and its rows count as delivered', async () => {
    const old = ALERTS_TABLE.columns.filter((column) => column.name !== 'delivered_at');
    await warehouse.query('CREATE SCHEMA monitoring', {}, { job: 't', runId: 't' });
    await warehouse.query(
      `CREATE TABLE monitoring.alerts (${old.map((c) => `${c.name} ${c.type === 'STRING' ? 'VARCHAR' : c.type === 'INT64' ? 'BIGINT' : c.type}`).join(', ')})`,
      {},
      { job: 't', runId: 't' },
    );
    await warehouse.query(
      "INSERT INTO monitoring.alerts VALUES ('kpi:dau:2026-11-26', DATE '2026-11-26', 'pubsub', 'old-claim', 'kpi', 'dau', 'warn', 'm', 'r0', TIMESTAMP '2026-11-26 06:00:00', TIMESTAMP '2026-11-26 06:00:00', @payload)",
      { payload: { type: 'STRING', value: JSON.stringify(dauSpike) } },
      { job: 't', runId: 't' },
    );
    const report = await deliverAlerts(deps({ slackWebhook: async () => null }), [dauSpike, installsSpike], context);
    expect(report).toMatchObject({ published: [installsSpike.alert_id], already_published: [dauSpike.alert_id] });
    expect((await warehouse.columnsOf('monitoring', 'alerts'))?.map((c) => c.name)).toContain('delivered_at');
  });
});

test("Slack keeps a check's segments together in its table, and marks a lost one", async () => {
  const segment = (name: string, metric: number, severity: 'warn' | 'error') =>
    kpiAlert(
      {
        ...result('events_by_name', '2026-11-26', metric, 800),
        segment: name,
        severity,
        change: metric === 0 ? null : (metric - 800) / 800,
      },
      'r1',
      NOW,
    );
  await deliverAlerts(deps(), [dauSpike, segment('ios', 1300, 'warn'), segment('android', 0, 'error')], context);
  const { text } = JSON.parse(slack.requests[0]?.body ?? '{}') as { text: string };
  const rows = text.split('\n').filter((line) => /^(warn|error) /.test(line));
  expect(rows).toEqual([
    'error     events_by_name[android]  2026-11-26  0      800       lost',
    'warn      events_by_name[ios]      2026-11-26  1,300  800       +62.5%',
    'warn      dau                      2026-11-26  1,500  1,000     +50.0%  ▁▁▁▁▄▄▁▁▁▁▁▄▄[█]',
  ]);
});

test('a segment name of megabytes is cut in the alert and its id, which stay apart for names sharing a start and equal across redeliveries', async () => {
  const name = (end: string) => `${'x'.repeat(5_000_000)}${end}`;
  const alert = (end: string) =>
    kpiAlert({ ...result('events_by_name', '2026-11-26', 0, 800), segment: name(end), severity: 'error' }, 'r1', NOW);
  const [a, b] = [alert('a'), alert('b')];
  expect(a.segment?.length).toBe(ALERT_SEGMENT_MAX);
  expect(a.segment).toMatch(/^x+… \(5000001 characters, sha256 [0-9a-f]{12}\)$/);
  expect(a.alert_id.length).toBeLessThan(ALERT_SEGMENT_MAX + 40);
  expect(a.alert_id).not.toBe(b.alert_id);
  expect(alert('a').alert_id).toBe(a.alert_id);
  const report = await deliverAlerts(deps(), [a], context);
  expect(report.published).toEqual([a.alert_id]);
  const published = topicMessages(dir, TOPICS.alerts).at(-1)?.data as Alert;
  expect(published.alert_id).toBe(a.alert_id);
  expect(JSON.stringify(published).length).toBeLessThan(2000);
});

describe('Slack message size', () => {
  test('a sparkline spans the trend, a day without a value is a space, a flat trend sits mid-height', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇[█]');
    expect(sparkline([5, null, 5])).toBe('▄ [▄]');
    expect(sparkline([8, 1])).toBe('█[▁]');
  });

  test('a run with many alerts is split at check boundaries into messages within the limit, none cut, tables closed', () => {
    const many = Array.from({ length: 60 }, (_unused, index) =>
      kpiAlert(
        {
          ...result(`check_${String(index).padStart(2, '0')}`, '2026-11-26', 1500 + index, 1000),
          trend: TREND,
          message: `check_${index} spiked: ${'a long explanation '.repeat(8)}`,
        },
        'r1',
        NOW,
      ),
    );
    const messages = slackMessages([...many, etlFailed], 'kpi-monitor (2026-11-26)');
    expect(messages.length).toBeGreaterThan(1);
    for (const [index, message] of messages.entries()) {
      expect(message.text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
      expect(
        message.text.startsWith(
          `:rotating_light: *daily-kpis: 61 alerts* from kpi-monitor (2026-11-26) (1 error) (${index + 1}/${messages.length})`,
        ),
      ).toBe(true);
      expect((message.text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    const all = messages.map((message) => message.text).join('\n');
    for (const alert of [...many, etlFailed]) {
      expect(all.split(`• ${alert.message}`).length - 1).toBe(1);
      expect(all.match(new RegExp(`^\\S+ +${alert.check} +2026-11-2[67]`, 'gm'))).toHaveLength(1);
    }
  });

  test('every part stays within the limit with its "(i/n)" counter, whatever the alerts add up to', () => {
    // 22 checks whose messages grow a character at a time: some sizes fill a part to the last few characters.
    let longest = 0;
    for (let length = 100; length <= 260; length += 1) {
      const alerts = Array.from({ length: 22 }, (_unused, index) =>
        kpiAlert({ ...result(`check_${index}`, '2026-11-26', 1500, 1000), message: 'x'.repeat(length) }, 'r1', NOW),
      );
      for (const message of slackMessages(alerts, 'kpi-monitor')) longest = Math.max(longest, message.text.length);
    }
    expect(longest).toBeGreaterThan(SLACK_MESSAGE_LIMIT - 50);
    expect(longest).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
  });

  test('a check message longer than a whole Slack message is cut to a fixed width with an ellipsis, in one message', () => {
    const huge = kpiAlert(
      { ...result('dau', '2026-11-26', 1500, 1000), message: `dau: ${'x'.repeat(SLACK_MESSAGE_LIMIT * 2)}` },
      'r1',
      NOW,
    );
    const messages = slackMessages([huge], 'kpi-monitor');
    expect(messages).toHaveLength(1);
    const note = messages[0]?.text.split('\n').at(-1);
    expect(note).toBe(`• dau: ${'x'.repeat(DISPLAY_WIDTH.message - 6)}…`);
  });

  test('deliverAlerts posts every part, in order', async () => {
    const many = Array.from({ length: 40 }, (_unused, index) =>
      kpiAlert(
        { ...result(`check_${index}`, '2026-11-26', 1500, 1000), message: `check_${index}: ${'y'.repeat(300)}` },
        'r1',
        NOW,
      ),
    );
    const report = await deliverAlerts(deps(), many, context);
    expect(report.slack).toBe('posted');
    expect(slack.requests.length).toBe(slackMessages(many, context.source).length);
    expect(slack.requests.length).toBeGreaterThan(1);
    expect(
      slack.requests.map((request) => (JSON.parse(request.body) as { text: string }).text.match(/\((\d+)\/\d+\)/)?.[1]),
    ).toEqual(slack.requests.map((_request, index) => String(index + 1)));
  });
});
