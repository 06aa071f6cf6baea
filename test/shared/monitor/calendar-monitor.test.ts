/** The calendar in the KPI monitor on DuckDB: a campaign day named one_off is muted, recorded and sent nowhere. */
import { addDays, daysBetween } from '../../../shared/dates';
import { parseCalendar, withCalendar, type CalendarEntryInput } from '../../../shared/config/calendar';
import { appendEvents } from '../../../shared/events/load-events';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import { reportData } from '../../../shared/report/report';
import { renderReportPage } from '../../../shared/report/page';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { historyWithAnomalies, tempDir, topicMessages } from '../../helpers/history';
import { builtinChecks, context, etlDeps, job, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

const TODAY = '2026-11-27';
const NOW = `${TODAY}T06:00:00Z`;
const CAMPAIGN = '2026-11-10';
const CHECKED = daysBetween('2026-11-08', '2026-11-26');

let warehouse: DuckDbWarehouse;

beforeAll(async () => {
  warehouse = await openMemoryWarehouse();
  await appendEvents(warehouse, SOURCE, historyWithAnomalies(TODAY, 56, { [CAMPAIGN]: 'new_users_spike' }), context);
  const { result } = await runEtl(etlDeps(warehouse, NOW), job, {
    range: { start: addDays(TODAY, -55), end: TODAY },
    runId: 'etl-1',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
});

afterAll(() => warehouse.close());

function deps(dir: string) {
  return {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => new Date(NOW)),
    slackWebhook: async () => null,
    clock: () => new Date(NOW),
    logger: silentLogger,
  };
}

const withEntries = (entries: CalendarEntryInput[]) => {
  const checks = builtinChecks();
  return withCalendar(
    checks,
    parseCalendar(
      entries,
      'calendar.json',
      checks.map((check) => check.name),
    ),
  );
};

test('without an entry the campaign day raises; with a one_off entry it is muted with the note, recorded, and not published', async () => {
  const plain = await runKpiMonitor(deps(tempDir()), builtinChecks(), {
    dates: CHECKED,
    runId: 'plain',
    username: 'test',
    dryRun: true,
  });
  const raisedOnCampaign = plain.results
    .filter((result) => result.date === CAMPAIGN && result.raise_flag)
    .map((result) => result.check);
  expect(raisedOnCampaign).toEqual(expect.arrayContaining(['dau', 'installs']));

  const dir = tempDir();
  const note = 'Black Friday campaign';
  const checks = withEntries([{ date: CAMPAIGN, checks: 'all', kind: 'one_off', note }]);
  const outcome = await runKpiMonitor(deps(dir), checks, { dates: CHECKED, runId: 'muted', username: 'test' });
  const onCampaign = outcome.results.filter((result) => result.date === CAMPAIGN);
  expect(onCampaign.filter((result) => result.verdict === 'muted').map((result) => result.check)).toEqual(
    raisedOnCampaign,
  );
  for (const result of onCampaign) expect(result).toMatchObject({ raise_flag: false, calendar_note: note });
  expect(onCampaign.find((result) => result.verdict === 'muted')?.message).toContain(`muted by the calendar: ${note}`);
  // Nothing about the day is published: not on Pub/Sub, not among the alerts.
  expect(outcome.alerts.filter((alert) => alert.date === CAMPAIGN)).toEqual([]);
  expect(
    topicMessages(dir, TOPICS.alerts).filter((message) => (message.data as { date: string }).date === CAMPAIGN),
  ).toEqual([]);
  // The alert history keeps them, on a channel of their own, with the note; a rerun adds nothing.
  const recorded = async () =>
    warehouse.query(
      `SELECT alert_id, payload FROM monitoring.alerts WHERE channel = 'muted' AND date = DATE '${CAMPAIGN}' ORDER BY alert_id`,
      {},
      context,
    );
  const rows = await recorded();
  expect(rows.map((row) => row.alert_id)).toEqual(raisedOnCampaign.map((check) => `kpi:${check}:${CAMPAIGN}`).sort());
  expect(JSON.parse(String(rows[0]?.payload))).toMatchObject({ status: 'muted', note, date: CAMPAIGN });
  await runKpiMonitor(deps(dir), checks, { dates: CHECKED, runId: 'muted-again', username: 'test' });
  expect(await recorded()).toHaveLength(rows.length);

  // The report: the day shaded with its note on every chart, its points muted, and the muted alerts listed apart from the sent ones.
  const report = await reportData(
    warehouse,
    job,
    checks,
    {
      range: { start: CHECKED[0] as string, end: CHECKED.at(-1) as string },
      generatedAt: new Date(NOW),
      source: 'test',
    },
    context,
  );
  const dau = report.checks.find((section) => section.name === 'dau');
  expect(dau?.series[0]?.calendar).toEqual([{ start: CAMPAIGN, end: CAMPAIGN, kind: 'one_off', note }]);
  expect(dau?.series[0]?.points.find((point) => point.date === CAMPAIGN)).toMatchObject({
    status: 'muted',
    label: expect.stringMatching(/^\+/),
  });
  expect(dau?.muted).toBe(1);
  const listed = report.alerts.filter((alert) => alert.date === CAMPAIGN);
  expect(listed.map((alert) => alert.alert_id).sort()).toEqual(rows.map((row) => row.alert_id));
  expect(listed.every((alert) => alert.status === 'muted' && alert.message.includes(note))).toBe(true);
});

test('a one_off entry for one check mutes only that check; the others still raise', async () => {
  const checks = withEntries([{ date: CAMPAIGN, checks: ['installs'], kind: 'one_off', note: 'install campaign' }]);
  const outcome = await runKpiMonitor(deps(tempDir()), checks, {
    dates: [CAMPAIGN],
    runId: 'one-check',
    username: 'test',
    dryRun: true,
  });
  expect(outcome.results.find((result) => result.check === 'installs')?.verdict).toBe('muted');
  expect(outcome.results.find((result) => result.check === 'dau')?.verdict).toBe('raised');
});

test('a new_normal entry on the campaign day restarts the baseline there: warm-up again, no verdict', async () => {
  const checks = withEntries([{ date: CAMPAIGN, checks: ['dau'], kind: 'new_normal', note: 'new platform' }]);
  const outcome = await runKpiMonitor(deps(tempDir()), checks, {
    dates: [CAMPAIGN, addDays(CAMPAIGN, 3)],
    runId: 'new-normal',
    username: 'test',
    dryRun: true,
  });
  const dau = outcome.results.filter((result) => result.check === 'dau');
  expect(dau.map((result) => result.verdict)).toEqual(['no_verdict', 'no_verdict']);
  expect(dau[1]?.message).toContain(`restarted on ${CAMPAIGN} (new platform)`);
});

test('a hostile note is text in the report: drawn and listed, never markup', async () => {
  const note = '</text></svg><script>alert(1)</script><img src=x onerror=alert(2)>\u202e';
  const checks = withEntries([{ date: CAMPAIGN, checks: ['dau'], kind: 'one_off', note }]);
  // The first test recorded the day's muted alerts with its own note: a record is kept once.
  await warehouse.query("DELETE FROM monitoring.alerts WHERE channel = 'muted'", {}, context);
  await runKpiMonitor(deps(tempDir()), checks, { dates: [CAMPAIGN], runId: 'hostile-note', username: 'test' });
  const data = await reportData(
    warehouse,
    job,
    checks.filter((check) => check.name === 'dau'),
    { range: { start: '2026-11-01', end: '2026-11-20' }, generatedAt: new Date(NOW), source: 'test' },
    context,
  );
  const html = await renderReportPage(data);
  expect(html).not.toMatch(/<script|<img/i);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).not.toContain('\u202e');
  expect(data.alerts.some((alert) => alert.status === 'muted' && alert.message.includes(note))).toBe(true);
});
