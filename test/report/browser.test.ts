/**
 * The report as a person sees it: written for the demo history on DuckDB, opened in a real
 * headless Chromium (Debian's, driven by playwright-core), with every request and console message
 * recorded. It must load with no console error and no request beyond the file itself, and show a
 * chart for every check. The screenshot goes to the temp folder, or to docs/report.png (the
 * README's) with UPDATE_SCREENSHOTS=1.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { loadKpiChecks } from '../../shared/config/kpi-checks';
import { parseCalendar, withCalendar } from '../../shared/config/calendar';
import { campaignDay, campaignEntry, plantCampaign } from '../../shared/events/demo-campaign';
import { addDays, daysBetween } from '../../shared/dates';
import { appendEvents } from '../../shared/events/load-events';
import { generateDemoEvents } from '../../shared/events/demo';
import { runEtl } from '../../shared/etl/run-etl';
import { LocalTopicPublisher } from '../../shared/messaging/publisher';
import { runKpiMonitor } from '../../shared/monitor/kpi-monitor';
import { silentLogger } from '../../shared/log';
import { writeReport } from '../../shared/report/page';
import { DEFAULT_REPORT_DAYS } from '../../shared/report/report';
import type { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { tempDir } from '../helpers/history';
import { openMemoryWarehouse, shippedJob, SOURCE } from '../helpers/warehouse';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TODAY = '2026-11-28';
const NOW = new Date(`${TODAY}T07:00:00Z`);
const context = { job: 'report', runId: 'browser-test' };

let warehouse: DuckDbWarehouse;
let browser: Browser;
let reportFile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`,
    );
  warehouse = await openMemoryWarehouse();
  // The demo history npm start builds: ten weeks, with the demo's anomaly on the last complete day.
  await appendEvents(warehouse, SOURCE, generateDemoEvents({ today: TODAY, now: NOW, days: 70 }), context);
  // And npm start's campaign day, which the demo's calendar mutes.
  await plantCampaign(warehouse, SOURCE, TODAY, NOW, context);
  const deps = { warehouse, clock: () => NOW, logger: silentLogger };
  const built = await runEtl(deps, shippedJob, {
    range: { start: addDays(TODAY, -69), end: TODAY },
    runId: 'demo-history',
    username: 'test',
  });
  expect(built.failure).toBeUndefined();
  const yesterday = addDays(TODAY, -1);
  await runKpiMonitor(
    { ...deps, publisher: new LocalTopicPublisher(tempDir(), () => NOW), slackWebhook: async () => null },
    loadKpiChecks(),
    {
      dates: daysBetween(addDays(yesterday, -6), yesterday),
      runId: 'demo-monitor',
      username: 'test',
    },
  );
  reportFile = path.join(tempDir('kpis-report-browser-'), 'report.html');
  const range = { start: addDays(yesterday, -(DEFAULT_REPORT_DAYS - 1)), end: yesterday };
  await writeReport(
    warehouse,
    shippedJob,
    withCalendar(
      loadKpiChecks().filter((check) => check.isEnable),
      parseCalendar([campaignEntry(TODAY)], 'calendar.json', []),
    ),
    { range, generatedAt: NOW, source: 'the demo history (DuckDB)' },
    reportFile,
    context,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No background traffic of the browser's own: only what the page asks for is recorded.
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
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await warehouse?.close();
});

test('the report opens with no console error and no request but itself, and every check has its chart', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const url = pathToFileURL(reportFile).href;
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.ok() ?? true).toBe(true);
  expect(requests).toEqual([url]);
  expect(problems).toEqual([]);

  const enabled = loadKpiChecks()
    .filter((check) => check.isEnable)
    .map((check) => check.name);
  const sections = await page.$$eval('article.check', (articles) =>
    articles.map((article) => ({
      id: article.id,
      charts: article.querySelectorAll('.chart svg').length,
      error: article.querySelector('.error')?.textContent ?? null,
    })),
  );
  expect(sections.map((section) => section.id)).toEqual(enabled.map((name) => `check-${name}`));
  for (const section of sections) {
    expect(section.error).toBeNull();
    expect(section.charts).toBeGreaterThan(0);
  }
  // Each chart is drawn, not empty: it has a visible size and a point per day of the range.
  const sizes = await page.$$eval('.chart svg', (svgs) =>
    svgs.map((svg) => svg.getBoundingClientRect()).map((box) => box.width * box.height),
  );
  expect(sizes.every((area) => area > 10_000)).toBe(true);
  const dauDays = await page.$$eval(
    '#chart-dau svg [aria-label]',
    (marks) =>
      marks.map((mark) => mark.getAttribute('aria-label') ?? '').filter((label) => /^\d{4}-\d{2}-\d{2}: /.test(label))
        .length,
  );
  expect(dauDays).toBe(DEFAULT_REPORT_DAYS);
  // The campaign day is shaded with its note, and its raised point is drawn as muted.
  const calendar = await page.$$eval('#chart-dau svg [aria-label^="known event"]', (marks) =>
    marks.map((mark) => mark.getAttribute('aria-label')),
  );
  expect(calendar).toEqual([`known event ${campaignDay(TODAY)}: ${campaignEntry(TODAY).note}`]);
  const campaign = await page.$$eval(`#chart-dau svg [aria-label^="${campaignDay(TODAY)}: "]`, (marks) =>
    marks.map((mark) => mark.getAttribute('aria-label')),
  );
  expect(campaign).toEqual([expect.stringMatching(/, muted \+[\d.,]+%$/)]);
  expect(await page.locator('.tile', { hasText: 'muted by the calendar' }).locator('b').textContent()).not.toBe('0');
  // The alerts table links each alert to its chart, and the link lands on it.
  const links = await page.$$eval('#alerts ~ table a', (anchors) =>
    anchors.map((anchor) => anchor.getAttribute('href')),
  );
  expect(links.length).toBeGreaterThan(0);
  for (const link of new Set(links)) expect(await page.locator(link as string).count()).toBe(1);

  const screenshot = process.env.UPDATE_SCREENSHOTS
    ? path.resolve(__dirname, '../../docs/report.png')
    : path.join(path.dirname(reportFile), 'report.png');
  mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: false });
  expect(statSync(screenshot).size).toBeGreaterThan(20_000);
  await page.close();
});
