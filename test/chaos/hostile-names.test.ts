/**
 * Generated event names that try to act where they are shown: markup and HTML, Slack syntax
 * (`<!channel>`, `<@U1>`, `<http://x|y>`), backticks, `&`, terminal escapes (ESC, OSC, BEL, C1,
 * DEL, CR), bidi controls, from 0 to 100,000 characters.
 *
 * - Through the whole path: loaded into a real DuckDB file, built by `kpis etl`, judged and
 *   delivered by `kpis monitor` (to a local Slack webhook and the local alerts topic), drawn by
 *   `kpis report`, the report opened in headless Chromium. A few such warehouses: it is slow.
 * - Many more at the display functions alone: Slack's messages for any alerts with such labels,
 *   the CLI's table rows and message lines, and the report page (checked against the same page
 *   with plain names: the same elements and attributes, in the same order).
 *
 * A leak is data acting where it is shown: an unescaped `<`, `>` or `&` from data in a Slack post
 * (or a code block it closed), a control character in the CLI's output, an element, attribute or
 * request in the report that a plain name does not give. A crash is a command that failed or threw.
 * `npm test` runs 2 warehouses and CHAOS_RUNS (default 150) generated label sets; `npm run chaos`
 * (CHAOS_RUNS=10,000) 20 warehouses.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { chromium, type Browser } from 'playwright-core';
import type { Io } from '../../cli/context';
import { table } from '../../cli/command';
import { run } from '../../cli/main';
import { checkRows, messageLine } from '../../cli/output';
import { kpiAlert, type Alert } from '../../shared/alerts/alert';
import { SLACK_MESSAGE_LIMIT, slackMessages } from '../../shared/alerts/slack';
import { DISPLAY_WIDTH } from '../../shared/format';
import type { CheckResult } from '../../shared/monitor/detect';
import { renderReportPage } from '../../shared/report/page';
import type { ReportData } from '../../shared/report/report';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Row } from '../../shared/warehouse/warehouse';
import { HttpRecorder } from '../fakes/http-recorder';
import { tempDir, topicMessages } from '../helpers/history';
import { HOSTILE_NAMES, hostileHistory, TERMINAL_CONTROL } from '../helpers/hostile';
import { SOURCE } from '../helpers/warehouse';

const RUNS = Math.max(20, Number(process.env.CHAOS_RUNS ?? 150));
/** Warehouses through the whole path (each about 5 s): 2 in npm test, 20 in npm run chaos. */
const WAREHOUSES = Math.max(2, Math.round(RUNS / 500));
/** Report pages rendered twice (hostile, plain) at the display functions: 10 in npm test, 200 in chaos. */
const PAGES = Math.max(10, Math.round(RUNS / 50));
const SEED = 20261201;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TODAY = '2026-11-27';
// Within source_freshness_hours (6) of the history's last event (23:59 yesterday): a fresh source, so the ETL warns of nothing.
const NOW = new Date(`${TODAY}T05:00:00Z`);

const figures: string[] = [];

/** Pieces of every hostile class; a name is a run of them, or one repeated to a great length. */
const PIECES = [
  '<',
  '>',
  '&',
  '&amp;',
  '"',
  "'",
  '`',
  '```',
  '<!channel>',
  '<!here>',
  '<@U1>',
  '<#C1>',
  '<http://x|y>',
  '<https://evil.example|click here>',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<a href="http://evil.example/">',
  '</bdi>',
  '</svg>',
  '<style>*{}</style>',
  ' onmouseover="x" ',
  'url(http://evil.example/x.png)',
  '*bold*',
  '_it_',
  '~s~',
  '\u001b',
  '\u001b]0;pwned\u0007',
  '\u001b]8;;http://evil.example\u001b\\',
  '\u001b[2J',
  '\u001b[31m',
  '\u0007',
  '\u0000',
  '\u009b',
  '\u0085',
  '\u007f',
  '\r',
  '\n',
  '\t',
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2069',
  '\u200f',
  '\u061c',
  'a',
  'Z',
  ' ',
  '.',
  '-',
  'é',
  'שלום',
  '💥',
  '\\',
  '{{source}}',
  '${x}',
];
const piece = fc.constantFrom(...PIECES);
const hostileName = fc.oneof(
  { weight: 12, arbitrary: fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(piece, fc.integer({ min: 1_000, max: 100_000 }))
      .map(([part, length]) => part.repeat(Math.ceil(length / part.length)).slice(0, length)),
  },
);
/** A few distinct names: segments of one check. */
const nameSet = (max: number) => fc.uniqueArray(hostileName, { minLength: 1, maxLength: max });

/** What Slack would read as markup: any `<` or `>` (all we send are escapes), an `&` starting no escape. */
const slackLeaks = (text: string): number =>
  (text.match(/[<>]/g) ?? []).length + (text.match(/&(?!amp;|lt;|gt;)/g) ?? []).length;
/** A code block closed or opened by data: three backticks anywhere but on a line of their own. */
const fenceLeaks = (text: string): number =>
  text.split('\n').filter((line) => line !== '```' && line.includes('```')).length;

function result(segment: string, index: number): CheckResult {
  return {
    check: 'events_by_name',
    segment,
    date: '2026-11-26',
    metric: 400 + index,
    previous_metric: 40,
    change: 9,
    score: null,
    raise_flag: true,
    verdict: 'raised',
    method: 'weekday',
    direction: 'both',
    threshold: 0.3,
    band: { low: 28, high: 52 },
    trend: index % 2 === 0 ? [40, 41, null, 39, 400 + index] : null,
    failure: null,
    severity: index % 3 === 0 ? 'error' : 'warn',
    message: `events_by_name[${segment}] on 2026-11-26: ${400 + index} against 40`,
    table: null,
  };
}

describe('the display functions', () => {
  test(`${RUNS} label sets: Slack posts within the limit carry every alert, with no markup from data`, () => {
    let alerts = 0;
    let posts = 0;
    let leaks = 0;
    let missing = 0;
    fc.assert(
      fc.property(nameSet(30), hostileName, (names, source) => {
        const raised: Alert[] = names.map((name, index) => kpiAlert(result(name, index), 'r1', NOW));
        const messages = slackMessages(raised, source);
        const carried = new Set(messages.flatMap((message) => message.alert_ids));
        alerts += raised.length;
        posts += messages.length;
        missing += raised.filter((alert) => !carried.has(alert.alert_id)).length;
        for (const message of messages) {
          leaks += slackLeaks(message.text) + fenceLeaks(message.text);
          expect(message.text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
        }
        expect(missing).toBe(0);
        expect(leaks).toBe(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    figures.push(
      `Slack payloads: ${RUNS} label sets, ${alerts} alerts in ${posts} posts of <= ${SLACK_MESSAGE_LIMIT} characters, ${missing} alerts left out, ${leaks} leaks, 0 crashes`,
    );
  });

  test(`${RUNS} label sets: the CLI's table and message lines hold no control character and are bounded`, () => {
    let lines = 0;
    let leaks = 0;
    fc.assert(
      fc.property(nameSet(8), (names) => {
        const results = names.map(result);
        const shown = [
          ...table(
            ['date', 'check', 'value', 'baseline', 'change', 'method', 'result'],
            checkRows(results),
            [0, 1, 5, 6],
          ).split('\n'),
          ...results.map((r) => `! ${messageLine(r.message)}`),
        ];
        lines += shown.length;
        for (const line of shown) {
          if (TERMINAL_CONTROL.test(line)) leaks += 1;
          expect(line.length).toBeLessThanOrEqual(DISPLAY_WIDTH.message + 2);
        }
        expect(shown).toHaveLength(names.length * 2 + 1);
        expect(leaks).toBe(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    figures.push(`CLI lines: ${RUNS} label sets, ${lines} lines, ${leaks} with a control character, 0 crashes`);
  });

  test(`${PAGES} report pages: the elements and attributes of a page with plain names, no request`, async () => {
    let leaks = 0;
    const samples = fc.sample(nameSet(4), { numRuns: PAGES, seed: SEED });
    for (const names of samples) {
      const hostile = await renderReportPage(pageOf(names));
      const plain = await renderReportPage(pageOf(names.map((_name, index) => `segment_${index}`)));
      const [got, want] = [structure(hostile), structure(plain)];
      if (got !== want) leaks += 1;
      expect(got).toBe(want);
      // Nothing to fetch: links are in-page anchors, and the one style sheet is ours.
      expect(links(hostile).filter((link) => !link.startsWith('#'))).toEqual([]);
      expect(hostile.split('<style>').length).toBe(2);
    }
    figures.push(
      `report pages: ${PAGES} rendered with hostile names and with plain ones, ${leaks} with an element or attribute of their own, 0 crashes`,
    );
  });
});

/** A report's data: one check with a series and an alert per name. */
function pageOf(names: string[]): ReportData {
  const point = (date: string, value: number) => ({
    date,
    value,
    baseline: 40,
    low: 28,
    high: 52,
    status: value > 100 ? ('raised' as const) : ('ok' as const),
    label: value > 100 ? '+900.0%' : null,
  });
  return {
    range: { start: '2026-11-24', end: '2026-11-26' },
    pipelineRange: { start: '2026-11-24', end: '2026-11-26' },
    timeZone: 'UTC',
    generatedAt: NOW.toISOString(),
    source: 'DuckDB :memory:',
    checks: [
      {
        name: 'events_by_name',
        description: 'events per name',
        method: 'weekday',
        series: names.map((segment) => ({
          segment,
          points: [point('2026-11-24', 40), point('2026-11-25', 41), point('2026-11-26', 400)],
        })),
        error: null,
        raised: names.length,
      },
    ],
    runs: [
      {
        run_id: 'r1',
        start: '2026-11-26T01:00:00.000Z',
        end: '2026-11-26T01:01:00.000Z',
        status: 'succeeded',
        label: 'run r1',
      },
    ],
    missingDays: [],
    runLogError: null,
    alerts: names.map((segment) => ({
      alert_id: `kpi:events_by_name:${segment}:2026-11-26`,
      kind: 'kpi',
      check: 'events_by_name',
      segment,
      date: '2026-11-26',
      severity: 'warn',
      message: segment,
    })),
    alertsError: null,
  };
}

/**
 * The page's elements and attribute names in order, without their text or values: data is
 * escaped, so every `<` in the page opens an element of ours (or Vega's), and every attribute
 * value is quoted with its quotes escaped.
 */
const TAG = /<(\/?[A-Za-z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*\/?>/g;

/** The values of the page's link attributes (href, src, xlink:href), read inside tags only. */
function links(html: string): string[] {
  return [...html.matchAll(TAG)].flatMap((tag) =>
    [...(tag[2] ?? '').matchAll(/\s(?:href|src|xlink:href)="([^"]*)"/g)].map((match) => match[1] as string),
  );
}

function structure(html: string): string {
  return [...html.matchAll(TAG)]
    .map(
      (match) =>
        `${match[1]}(${[...(match[2] ?? '').matchAll(/([\w:-]+)(?:="[^"]*")?/g)].map((attribute) => attribute[1]).join(' ')})`,
    )
    .join('\n');
}

describe('warehouses of hostile names, through the commands', () => {
  let browser: Browser;
  let slack: HttpRecorder;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    slack = new HttpRecorder();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await slack?.stop();
  });

  test(`${WAREHOUSES} warehouses: load, etl, monitor to Slack, CLI output, the report in Chromium`, async () => {
    const slackUrl = `${await slack.start()}/services/T0/B0/chaos-token`;
    const totals = {
      names: 0,
      alerts: 0,
      posts: 0,
      crashes: 0,
      slackLeaks: 0,
      missing: 0,
      cliLeaks: 0,
      reportLeaks: 0,
      requests: 0,
    };
    // The first holds the hand-picked names and one of 100,000 characters; the others are generated.
    const samples = [
      [...HOSTILE_NAMES, '<!channel>'.repeat(10_000)],
      ...fc.sample(nameSet(4), { numRuns: WAREHOUSES - 1, seed: SEED }),
    ];
    for (const names of samples) {
      const dir = tempDir('kpis-hostile-');
      const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;
      const env = { KPIS_TOPICS_DIR: path.join(dir, 'topics'), KPIS_SLACK_WEBHOOK_URL: slackUrl };
      const db = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
      try {
        // A long name gets fewer events: the history stays small, the name as long.
        const base = names.some((name) => name.length > 1_000) ? 25 : 40;
        await fill(db, hostileHistory(names, TODAY, 21, null, base));
      } finally {
        await db.close();
      }
      totals.names += names.length;
      slack.requests.length = 0;
      const out = path.join(dir, 'report.html');
      const commands = [
        ['etl', '--from', '2026-11-06', '--to', '2026-11-26'],
        ['monitor', '--date', '2026-11-26', '--checks', 'events_by_name'],
        ['report', '--from', '2026-11-20', '--to', '2026-11-26', '--checks', 'events_by_name', '--out', out],
      ];
      for (const args of commands) {
        const shown = await kpis([...args, '--warehouse', warehouse], env);
        if (shown.code !== 0) totals.crashes += 1;
        expect(shown.stderr).toBe('');
        expect(shown.code).toBe(0);
        for (const text of [shown.stdout, shown.stderr]) if (TERMINAL_CONTROL.test(text)) totals.cliLeaks += 1;
        for (const line of shown.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(DISPLAY_WIDTH.message + 2);
      }
      // Every alert the monitor published is in a Slack post, and no post holds markup from data.
      const published = topicMessages(env.KPIS_TOPICS_DIR, 'daily-kpis-alerts').map((record) => record.data as Alert);
      const texts = slack.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);
      totals.alerts += published.length;
      totals.posts += texts.length;
      expect(published.length).toBeGreaterThanOrEqual(names.length);
      const rows = texts.flatMap((text) => text.split('\n').filter((line) => /^(warn|error) /.test(line)));
      totals.missing += Math.max(0, published.length - rows.length);
      for (const text of texts) {
        totals.slackLeaks += slackLeaks(text) + fenceLeaks(text);
        expect(text.length).toBeLessThanOrEqual(SLACK_MESSAGE_LIMIT);
      }
      const opened = await openInChromium(browser, out);
      totals.reportLeaks += opened.leaks.length;
      totals.requests += opened.requests.length - 1;
      expect(opened.leaks).toEqual([]);
      expect(opened.requests).toEqual([pathToFileURL(out).href]);
    }
    expect(totals).toMatchObject({ crashes: 0, slackLeaks: 0, missing: 0, cliLeaks: 0, reportLeaks: 0, requests: 0 });
    figures.push(
      `warehouses: ${WAREHOUSES} (${totals.names} hostile names) through load, etl, monitor, Slack, CLI and report: ${totals.alerts} alerts in ${totals.posts} Slack posts, ` +
        `${totals.missing} left out, ${totals.slackLeaks} Slack leaks, ${totals.cliLeaks} CLI outputs with a control character, ${totals.reportLeaks} report elements or attributes from data, ` +
        `${totals.requests} requests beyond the file, ${totals.crashes} crashes`,
    );
  }, 600_000);
});

async function kpis(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, KPIS_WAREHOUSE: '', KPIS_NOW: NOW.toISOString(), ...env },
  };
  return { code: await run(args, io), stdout, stderr };
}

/** The report in Chromium: every request it makes, and every element or attribute outside what a report is made of. */
async function openInChromium(browser: Browser, file: string): Promise<{ requests: string[]; leaks: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const leaks = await page.$$eval(
      '*',
      (elements, { names, attributes }) => {
        const found: string[] = [];
        for (const element of elements) {
          const name = element.tagName.toLowerCase();
          if (!names.includes(name)) found.push(`<${name}>`);
          for (const attribute of element.getAttributeNames()) {
            const value = element.getAttribute(attribute) ?? '';
            if (!attributes.includes(attribute)) found.push(`${name}[${attribute}]`);
            if (['href', 'src', 'xlink:href'].includes(attribute) && !value.startsWith('#'))
              found.push(`${name}[${attribute}=${value.slice(0, 40)}]`);
          }
        }
        return found;
      },
      { names: REPORT_ELEMENTS, attributes: REPORT_ATTRIBUTES },
    );
    return { requests, leaks };
  } finally {
    await page.close();
  }
}

/** What a report is made of: our HTML and Vega's SVG. Anything else in the DOM came from data. */
const REPORT_ELEMENTS = [
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'header',
  'h1',
  'h2',
  'h3',
  'div',
  'section',
  'b',
  'p',
  'span',
  'i',
  'code',
  'article',
  'bdi',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'a',
  'svg',
  'g',
  'path',
  'rect',
  'line',
  'text',
  'defs',
  'clippath',
  'clipPath',
  'circle',
  'title',
  'desc',
];
const REPORT_ATTRIBUTES = [
  'lang',
  'charset',
  'name',
  'content',
  'class',
  'id',
  'style',
  'href',
  'xmlns',
  'xmlns:xlink',
  'version',
  'width',
  'height',
  'viewBox',
  'viewbox',
  'transform',
  'd',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'fill',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-miterlimit',
  'fill-opacity',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'text-anchor',
  'dy',
  'dx',
  'role',
  'aria-label',
  'aria-roledescription',
  'aria-hidden',
  'focusable',
  'pointer-events',
  'clip-path',
  'shape-rendering',
  'stroke-linecap',
  'stroke-linejoin',
  'r',
  'cx',
  'cy',
  'display',
];

afterAll(() => {
  process.stdout.write(`\nhostile names\n  ${figures.join('\n  ')}\n`);
});

/** Rows straight into the source table, as a warehouse filled by something else than kpis load-events has them. */
async function fill(warehouse: DuckDbWarehouse, rows: Row[]): Promise<void> {
  await warehouse.ensureTable(SOURCE);
  await warehouse.appendRows(SOURCE, rows);
}
