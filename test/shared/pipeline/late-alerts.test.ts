/**
 * Late events and alerts, end to end on DuckDB: a day built half-loaded raises a false drop; the
 * run after the late events landed restates the day, and the KPI monitor sends one `resolved`
 * follow-up under the same alert_id; a real drop stays raised; redeliveries send nothing twice.
 */
import type { Alert } from '../../../shared/alerts/alert';
import { addDays, toIsoDate } from '../../../shared/dates';
import { runEtl, type EtlResult } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { checkCompletedRun } from '../../../shared/pipeline/completed-run-checks';
import { runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row } from '../../../shared/warehouse/warehouse';
import { HttpRecorder } from '../../fakes/http-recorder';
import { historyWithAnomalies, tempDir, topicMessages } from '../../helpers/history';
import { builtinChecks, context, job, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';
import { appendEvents } from '../../../shared/events/load-events';
import { reportData } from '../../../shared/report/report';
import { renderReportPage } from '../../../shared/report/page';

const TODAY = '2026-11-28';
const HALF = '2026-11-25'; // half its events arrive a day late
const DROP = '2026-11-26'; // a real drop: the lost events never come
const restating = { ...job, restateDays: 7, sourceFreshnessHours: 0 };

const key = (row: Row) => `${String(row.user_id)}|${(row.time as Date).getTime()}|${String(row.event_name)}`;
const dayOf = (row: Row) => toIsoDate(row.time as Date);
const full = historyWithAnomalies(TODAY, 35, { [DROP]: 'returning_drop' });
const partial = historyWithAnomalies(TODAY, 35, { [HALF]: 'returning_drop', [DROP]: 'returning_drop' });
const partialKeys = new Set(partial.map(key));
const late = full.filter((row) => !partialKeys.has(key(row)));

let warehouse: DuckDbWarehouse;
let dir: string;
const slack = new HttpRecorder();
let slackUrl: string;
beforeAll(async () => {
  warehouse = await openMemoryWarehouse();
  dir = tempDir();
  slackUrl = await slack.start();
});
afterAll(async () => {
  await warehouse.close();
  await slack.stop();
});

async function load(rows: Row[]): Promise<void> {
  await appendEvents(warehouse, SOURCE, rows, context);
}

/** The daily run of `today` at 06:00, and the KPI monitor on its completion at 06:30. */
async function day(
  today: string,
): Promise<{ completion: EtlResult; monitor: () => ReturnType<typeof checkCompletedRun> }> {
  const yesterday = addDays(today, -1);
  const { result, failure } = await runEtl(
    { warehouse, clock: () => new Date(`${today}T06:00:00Z`), logger: silentLogger },
    restating,
    {
      range: { start: yesterday, end: yesterday },
      runId: `etl-${today}`,
      username: 'scheduler',
    },
  );
  expect(failure).toBeUndefined();
  const at = new Date(`${today}T06:30:00Z`);
  const deps = {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => at),
    slackWebhook: async () => slackUrl,
    clock: () => at,
    logger: silentLogger,
  };
  return {
    completion: result,
    monitor: () =>
      checkCompletedRun(deps, builtinChecks(), result, {
        runId: `kpi-monitor-${today}`,
        username: 'test',
        timeZone: 'UTC',
      }),
  };
}

function alerts(): Alert[] {
  return topicMessages(dir, TOPICS.alerts).map((message) => message.data as Alert);
}

test('a false drop is resolved by the run after the late data landed, a real drop stays raised, nothing is sent twice', async () => {
  await load(partial.filter((row) => dayOf(row) < HALF));
  const first = partial
    .filter((row) => dayOf(row) < HALF)
    .map(dayOf)
    .sort()[0] as string;
  const backfill = await runEtl(
    { warehouse, clock: () => new Date(`${HALF}T06:00:00Z`), logger: silentLogger },
    restating,
    {
      range: { start: first, end: addDays(HALF, -1) },
      runId: 'backfill',
      username: 'analyst',
    },
  );
  expect(backfill.failure).toBeUndefined();

  // The half-loaded day: built, judged, a drop raised.
  await load(partial.filter((row) => dayOf(row) === HALF));
  await (await day('2026-11-26')).monitor();
  expect(alerts().map((alert) => [alert.alert_id, alert.status])).toContainEqual(['kpi:dau:2026-11-25', 'raised']);

  // The late half lands with the next day's (really dropped) events: the next run restates the day.
  await load([...late, ...partial.filter((row) => dayOf(row) === DROP)]);
  const next = await day('2026-11-27');
  expect(next.completion.restated_dates).toEqual([HALF]);
  const checked = await next.monitor();
  expect(checked.action).toBe('checked');
  const resolved = alerts().filter((alert) => alert.status === 'resolved');
  expect(resolved.map((alert) => alert.alert_id)).toContain('kpi:dau:2026-11-25');
  const dau = resolved.find((alert) => alert.alert_id === 'kpi:dau:2026-11-25') as Alert;
  expect(dau.message).toMatch(/^resolved: late data changed dau on 2026-11-25 from \d+ to \d+: /);
  expect(resolved.every((alert) => alert.date === HALF)).toBe(true);
  expect(alerts().map((alert) => [alert.alert_id, alert.status])).toContainEqual(['kpi:dau:2026-11-26', 'raised']);

  // A redelivered completion sends nothing again.
  const before = alerts().length;
  await next.monitor();
  expect(alerts()).toHaveLength(before);
  // Slack got the follow-up once too.
  const posted = slack.requests.map((request) => request.body).join('\n');
  expect(posted.match(/resolved: late data changed dau on 2026-11-25/g)).toHaveLength(1);

  // A late event on the real drop's day restates it, and it still raises: no follow-up, no repeat.
  await load([
    { user_id: 'straggler', time: new Date(`${DROP}T12:00:00Z`), event_name: 'session_start', coins_added: null },
    ...partial.filter((row) => dayOf(row) === '2026-11-27'),
  ]);
  const third = await day('2026-11-28');
  expect(third.completion.restated_dates).toEqual([DROP]);
  await third.monitor();
  const sent = alerts().filter((alert) => alert.date === DROP);
  expect(sent.filter((alert) => alert.status === 'resolved')).toEqual([]);
  expect(sent.filter((alert) => alert.alert_id === 'kpi:dau:2026-11-26')).toHaveLength(1);
});

test('the report shows the restated days, the runs that restated them and the resolved alerts', async () => {
  const data = await reportData(
    warehouse,
    restating,
    builtinChecks(),
    {
      range: { start: '2026-11-20', end: '2026-11-27' },
      generatedAt: new Date('2026-11-28T07:00:00Z'),
      source: 'test',
    },
    context,
  );
  expect(data.restatedDays).toEqual([HALF, DROP]);
  // The pipeline's monitor judged only complete days.
  expect(data.judgedEarly).toEqual([]);
  expect(data.runs.find((run) => run.run_id === 'etl-2026-11-27')?.label).toContain('2026-11-26 (restated 2026-11-25)');
  expect(data.alerts.filter((alert) => alert.status === 'resolved').map((alert) => alert.alert_id)).toContain(
    'kpi:dau:2026-11-25',
  );
  const page = await renderReportPage(data);
  expect(page).toMatch(/<b>2<\/b>days restated \(late events\)/);
  expect(page).toContain('kpi, resolved');
});

test('a restated day that raises now is published as a new alert', async () => {
  const burstDay = '2026-11-27';
  // Judged before: the day after the real drop, where the events incident recovered.
  const judgedBefore = alerts().filter((alert) => alert.alert_id === `kpi:events:${burstDay}`);
  expect(judgedBefore.map((alert) => alert.status)).toEqual(['recovered']);
  // A client resends the day's events twice over, a day late, with the next day's events.
  const resent = partial
    .filter((row) => dayOf(row) === burstDay)
    .flatMap((row) => [1, 2].map((shift) => ({ ...row, time: new Date((row.time as Date).getTime() + shift) })));
  await load([...resent, ...partial.filter((row) => dayOf(row) === TODAY)]);
  const run = await day('2026-11-29');
  expect(run.completion.restated_dates).toEqual([burstDay]);
  await run.monitor();
  const raised = alerts().filter(
    (alert) => alert.alert_id === `kpi:events:${burstDay}` && alert.status !== 'recovered',
  );
  expect(raised).toHaveLength(1);
  // The day after the drop raises now: the drop's incident goes on (its recovery was premature).
  expect(raised[0]).toMatchObject({ status: 'ongoing', incident_id: 'kpi:events:2026-11-26', incident_days: 2 });
});

test('the report counts a day judged before it was complete (a monitor run before its end)', async () => {
  const at = new Date(`${TODAY}T20:00:00Z`);
  const deps = {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => at),
    slackWebhook: async () => null,
    clock: () => at,
    logger: silentLogger,
  };
  await runKpiMonitor(deps, builtinChecks(), {
    dates: [TODAY],
    timeZone: 'UTC',
    runId: 'by-hand',
    username: 'analyst',
  });
  const data = await reportData(
    warehouse,
    restating,
    builtinChecks(),
    { range: { start: '2026-11-20', end: TODAY }, generatedAt: new Date('2026-11-29T07:00:00Z'), source: 'test' },
    context,
  );
  expect(data.judgedEarly).toEqual([TODAY]);
  expect(await renderReportPage(data)).toMatch(/<b>1<\/b>days judged before complete/);
});
