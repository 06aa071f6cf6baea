/**
 * Slack shows what data says, never runs it: names and messages are escaped (`&`, `<`, `>`), cut
 * to a fixed width, and cannot close a code block; every alert lands in a post within the limit;
 * the webhook client follows no redirect and names its URL nowhere.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { kpiAlert, pipelineAlert, type Alert } from '../../../shared/alerts/alert';
import { deliverAlerts, type AlertDeps } from '../../../shared/alerts/deliver';
import { postToSlack, SLACK_MESSAGE_LIMIT, slackMessages } from '../../../shared/alerts/slack';
import { createLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import type { CheckResult } from '../../../shared/monitor/detect';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { HttpRecorder } from '../../fakes/http-recorder';
import { tempDir, topicMessages } from '../../helpers/history';
import { openMemoryWarehouse } from '../../helpers/warehouse';

const NOW = new Date('2026-11-27T06:00:00Z');
const RUNS = Math.max(50, Math.round(Number(process.env.CHAOS_RUNS ?? 150)));

function segmentAlert(segment: string, overrides: Partial<CheckResult> = {}): Alert {
  const result: CheckResult = {
    check: 'events_by_name',
    segment,
    date: '2026-11-26',
    metric: 1300,
    previous_metric: 800,
    change: 0.625,
    score: null,
    raise_flag: true,
    verdict: 'raised',
    method: 'weekday',
    direction: 'both',
    threshold: 0.1,
    band: { low: 720, high: 880 },
    trend: null,
    failure: null,
    severity: 'warn',
    message: `events_by_name[${segment}] on 2026-11-26: 1300 against 800`,
    table: 'daily_kpis.events_by_name',
    ...overrides,
  };
  return kpiAlert(result, 'r1', NOW);
}

/**
 * What Slack would read as markup: `<` or `>` anywhere (every one we send is an escape, so none is
 * left raw), and an `&` that does not start one of the three escapes.
 */
function unescaped(text: string): string[] {
  return [...(text.match(/[<>]/g) ?? []), ...(text.match(/&(?!amp;|lt;|gt;)/g) ?? [])];
}

/** The code blocks of a message close where we close them: three backticks only on lines of their own. */
function fencesOnOwnLines(text: string): boolean {
  return text.split('\n').every((line) => line === '```' || !line.includes('```'));
}

describe('Slack escapes what data says', () => {
  const hostile = [
    '<!channel>',
    '<!here>',
    '<@U123>',
    '<https://evil.example|click here>',
    'a & b',
    '```\n<!channel>\n```',
    'x`y``z',
  ];

  test.each(hostile)('a segment named %j shows as text, in the table and in the notes', (name) => {
    const [message] = slackMessages([segmentAlert(name)], 'kpi-monitor <b> & co');
    const text = message?.text ?? '';
    expect(unescaped(text)).toEqual([]);
    expect(fencesOnOwnLines(text)).toBe(true);
    expect((text.match(/^```$/gm) ?? []).length).toBe(2);
    expect(text).not.toContain('<!');
    expect(text).not.toContain('<@');
  });

  test('the escapes read back as the name: <!channel> is &lt;!channel&gt;', () => {
    const [message] = slackMessages([segmentAlert('<!channel> & <@U123>')], 'kpi-monitor');
    expect(message?.text).toContain('events_by_name[&lt;!channel&gt; &amp; &lt;@U123&gt;]');
  });
});

describe('Slack bounds every label', () => {
  test('a 5,000-character segment name: all 18 alerts are shown, each post within the limit, the name cut with an ellipsis', () => {
    const long = 'n'.repeat(5_000);
    const alerts = Array.from({ length: 18 }, (_unused, index) =>
      segmentAlert(`${long}${index}`, { check: `check_${index}` }),
    );
    const messages = slackMessages(alerts, 'kpi-monitor');
    for (const message of messages) expect(message.text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
    const rows = messages.flatMap((message) => message.text.split('\n').filter((line) => line.startsWith('warn ')));
    expect(rows).toHaveLength(18);
    for (const row of rows) expect(row).toContain('…');
    expect(new Set(messages.flatMap((message) => message.alert_ids))).toEqual(
      new Set(alerts.map((alert) => alert.alert_id)),
    );
  });

  test('property: any alerts with any labels end up in posts of at most 4,000 characters that carry every alert, with no raw markup from data', () => {
    const label = fc.oneof(
      fc.string({
        unit: fc.constantFrom('<', '>', '&', '`', '!', '@', '|', '*', '\n', '\u001b', '\u202e', 'a', ' ', '💥'),
        maxLength: 200,
      }),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.nat({ max: 20_000 }).map((length) => '<'.repeat(length)),
    );
    const alert = fc.record({
      segment: label,
      message: label,
      check: fc.constantFrom('dau', 'events_by_name', 'a<b>', 'x&y'),
      severity: fc.constantFrom('warn', 'error') as fc.Arbitrary<'warn' | 'error'>,
    });
    fc.assert(
      fc.property(fc.array(alert, { maxLength: 40 }), label, (specs, source) => {
        const alerts = specs.map((spec, index) =>
          index % 5 === 4
            ? pipelineAlert(
                { check: spec.check, date: '2026-11-27', reason: `r${index}`, message: spec.message, table: null },
                'r1',
                NOW,
              )
            : segmentAlert(`${spec.segment}${index}`, {
                check: spec.check,
                severity: spec.severity,
                message: spec.message,
                trend: index % 2 ? [1, null, 1e300, -5] : null,
              }),
        );
        const messages = slackMessages(alerts, source);
        const carried = new Set(messages.flatMap((message) => message.alert_ids));
        expect(carried).toEqual(new Set(alerts.map((a) => a.alert_id)));
        for (const message of messages) {
          expect(message.text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
          expect(unescaped(message.text)).toEqual([]);
          expect(fencesOnOwnLines(message.text)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('delivery marks only what a post carried', () => {
  let warehouse: DuckDbWarehouse;
  let slack: HttpRecorder;
  let dir: string;
  beforeEach(async () => {
    warehouse = await openMemoryWarehouse();
    slack = new HttpRecorder();
    dir = tempDir();
  });
  afterEach(async () => {
    await slack.stop();
    await warehouse.close();
  });

  test('18 alerts with 5,000-character names: every one is in a posted message, and marked delivered only so', async () => {
    const url = `${await slack.start()}/services/T0/B0/secret`;
    const deps: AlertDeps = {
      warehouse,
      publisher: new LocalTopicPublisher(dir, () => NOW),
      slackWebhook: async () => url,
      clock: () => NOW,
      logger: createLogger({ level: 'ERROR', write: () => undefined }),
    };
    const alerts = Array.from({ length: 18 }, (_unused, index) =>
      segmentAlert(`${'<!channel>'.repeat(500)}${index}`, { check: `check_${index % 3}` }),
    );
    const report = await deliverAlerts(deps, alerts, { job: 'kpi_monitor', runId: 'r1', source: 'kpi-monitor' });
    expect(report.slack).toBe('posted');
    const texts = slack.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);
    const rows = texts.flatMap((text) => text.split('\n').filter((line) => line.startsWith('warn ')));
    expect(rows).toHaveLength(18);
    expect(new Set(report.slack_alerts)).toEqual(new Set(alerts.map((alert) => alert.alert_id)));
    for (const text of texts) {
      expect(text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
      expect(unescaped(text)).toEqual([]);
    }
    // The body Slack gets is its message and nothing else; the full name stays in the Pub/Sub alert.
    for (const request of slack.requests) expect(Object.keys(JSON.parse(request.body) as object)).toEqual(['text']);
    expect(topicMessages(dir, TOPICS.alerts).map((m) => (m.data as Alert).segment)).toEqual(
      alerts.map((alert) => alert.segment),
    );
  });
});

describe('the webhook client', () => {
  let server: Server;
  let base: string;
  let answer: (url: string, body: string) => { status: number; headers?: Record<string, string>; body?: string };
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        hits.push(request.url ?? '');
        const { status, headers, body } = answer(request.url ?? '', Buffer.concat(chunks).toString('utf8'));
        response.writeHead(status, headers ?? { 'content-type': 'text/plain' });
        response.end(body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    hits.length = 0;
  });

  test('a 307 to another host is a failure, and is not followed', async () => {
    answer = (url) =>
      url.startsWith('/services')
        ? { status: 307, headers: { location: `${base.replace('127.0.0.1', 'localhost')}/elsewhere` } }
        : { status: 200, body: 'ok' };
    await expect(postToSlack(`${base}/services/T0/B0/token-abcdef123`, { text: 'hi' })).rejects.toThrow(/HTTP 307/);
    expect(hits).toEqual(['/services/T0/B0/token-abcdef123']);
  });

  test('an error body that echoes the URL upper-cased, or the bare token, names neither', async () => {
    const token = 'xoxTokenAbc123secret';
    const url = `${base}/services/T0ABC/B0DEF/${token}`;
    answer = () => ({ status: 400, body: `bad hook ${url.toUpperCase()} token=${token} again ${token.toLowerCase()}` });
    const error = await postToSlack(url, { text: 'hi' }).then(
      () => null,
      (thrown: Error) => thrown,
    );
    expect(error?.message).toMatch(/^Slack webhook answered HTTP 400/);
    expect(error?.message.toLowerCase()).not.toContain(token.toLowerCase());
    expect(error?.message.toLowerCase()).not.toContain('/services/t0abc/b0def');
  });
});
