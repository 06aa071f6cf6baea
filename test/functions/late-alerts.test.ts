/**
 * Late events and alerts through the functions over HTTP, as deployed: each day's trigger goes
 * through the local stack (router -> etl -> completion -> kpi-monitor and log-monitor -> alerts
 * topic), one stack per day with that morning's clock, on one DuckDB file. A day built half-loaded
 * raises a false drop; the next day's run restates it and the KPI monitor publishes one `resolved`
 * follow-up under the same alert_id; redeliveries send nothing twice. (The same story in process:
 * test/shared/pipeline/late-alerts.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../../functions/local';
import type { Alert } from '../../shared/alerts/alert';
import { addDays, toIsoDate } from '../../shared/dates';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import { RouterPublisher } from '../../shared/messaging/router-publisher';
import { parseSettings } from '../../shared/settings';
import type { Row } from '../../shared/warehouse/warehouse';
import { post, pubsubEvent } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, job, SOURCE } from '../helpers/warehouse';

const HALF = '2026-11-25'; // half its events arrive a day late
const DROP = '2026-11-26'; // a real drop: the lost events never come

const key = (row: Row) => `${String(row.user_id)}|${(row.time as Date).getTime()}|${String(row.event_name)}`;
const dayOf = (row: Row) => toIsoDate(row.time as Date);
const full = historyWithAnomalies('2026-11-27', 21, { [DROP]: 'returning_drop' });
const partial = historyWithAnomalies('2026-11-27', 21, { [HALF]: 'returning_drop', [DROP]: 'returning_drop' });
const partialKeys = new Set(partial.map(key));
const late = full.filter((row) => !partialKeys.has(key(row)));

let dir: string;
let env: NodeJS.ProcessEnv;

/** The built-in tables with restate_days 7, and the checks of the built-in series: a small chain. */
function writeConfigs(): { etl: string; kpis: string } {
  const etl = path.join(dir, 'daily_kpis_config.json');
  const kpisTables = Object.fromEntries(job.tables.map((table) => [table.name, {}]));
  writeFileSync(etl, JSON.stringify({ daily_kpis: { restate_days: 7, source_freshness_hours: 0, kpis: kpisTables } }));
  const shipped = JSON.parse(readFileSync(path.join(__dirname, '../../config/kpis_config.json'), 'utf8')) as {
    kpis: Record<string, unknown>;
  };
  const kpis = path.join(dir, 'kpis_config.json');
  writeFileSync(
    kpis,
    JSON.stringify({
      kpis: Object.fromEntries(['dau', 'installs', 'events'].map((name) => [name, shipped.kpis[name]])),
    }),
  );
  return { etl, kpis };
}

beforeAll(() => {
  dir = tempDir();
  const configs = writeConfigs();
  env = {
    ...process.env,
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_TOPICS_DIR: dir,
    KPIS_PUBLISHER: 'local',
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_CONFIG: configs.etl,
    KPIS_MONITOR_CONFIG: configs.kpis,
  };
});

/** The stack as it runs on the morning of `today`, 06:00, for `work`; closed after (the DuckDB file stays). */
async function morningOf<T>(today: string, work: (stack: LocalStack) => Promise<T>): Promise<T> {
  const now = `${today}T06:00:00.000Z`;
  const dayEnv = { ...env, KPIS_NOW: now };
  const stack = await startLocalStack({
    ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 },
    settings: parseSettings({}, dayEnv),
    env: dayEnv,
    clock: () => new Date(now),
    logger: silentLogger,
    pubsub: 'router',
    maxAttempts: 2,
    retryDelayMs: 10,
  });
  try {
    return await work(stack);
  } finally {
    await stack.close();
  }
}

/** Loads `rows`, then publishes the daily trigger (yesterday) to the router and waits for the chain to finish. */
async function dailyRun(stack: LocalStack, today: string, rows: Row[]): Promise<string> {
  await appendEvents((await stack.runtime.ports()).warehouse, SOURCE, rows, context);
  const messageId = await new RouterPublisher(stack.routerUrl as string).publish(TOPICS.trigger, {
    date: addDays(today, -1),
  });
  await stack.router?.idle();
  return messageId;
}

const messages = (topic: string) => topicMessages(dir, topic);
const kpiAlerts = () =>
  messages(TOPICS.alerts)
    .map((message) => message.data as Alert)
    .filter((alert) => alert.kind === 'kpi');

test('a false drop raised over HTTP is resolved by the next day run through the chain; redeliveries send nothing twice', async () => {
  // The history before the half-loaded day, built at once.
  await morningOf(HALF, async (stack) => {
    const warehouse = (await stack.runtime.ports()).warehouse;
    const before = partial.filter((row) => dayOf(row) < HALF);
    await appendEvents(warehouse, SOURCE, before, context);
    const first = before.map(dayOf).sort()[0] as string;
    const backfill = await runEtl(
      { warehouse, clock: () => new Date(`${HALF}T06:00:00Z`), logger: silentLogger },
      { ...job, restateDays: 7 },
      {
        range: { start: first, end: addDays(HALF, -1) },
        runId: 'backfill',
        username: 'analyst',
      },
    );
    expect(backfill.failure).toBeUndefined();
  });

  // The 26th: the half-loaded day is built and judged, a drop raised.
  await morningOf('2026-11-26', (stack) =>
    dailyRun(
      stack,
      '2026-11-26',
      partial.filter((row) => dayOf(row) === HALF),
    ),
  );
  expect(kpiAlerts().map((alert) => [alert.alert_id, alert.status])).toContainEqual(['kpi:dau:2026-11-25', 'raised']);
  const raised = kpiAlerts().find((alert) => alert.alert_id === 'kpi:dau:2026-11-25') as Alert;

  // The 27th: the late half lands with the real drop's events; the run restates the 25th.
  await morningOf('2026-11-27', async (stack) => {
    const trigger = await dailyRun(stack, '2026-11-27', [...late, ...partial.filter((row) => dayOf(row) === DROP)]);
    const completion = messages(TOPICS.completed).find(
      (message) => (message.data as { run_id: string }).run_id === `etl-${trigger}`,
    );
    expect(completion?.data).toMatchObject({ status: 'succeeded', dates: [DROP], restated_dates: [HALF] });
    const resolved = kpiAlerts().filter((alert) => alert.status === 'resolved');
    expect(resolved.map((alert) => alert.alert_id)).toContain('kpi:dau:2026-11-25');
    expect(resolved.find((alert) => alert.alert_id === 'kpi:dau:2026-11-25')).toMatchObject({
      date: HALF,
      check: raised.check,
      message: expect.stringMatching(/^resolved: late data changed dau on 2026-11-25 from \d+ to \d+: /),
    });
    expect(kpiAlerts().map((alert) => [alert.alert_id, alert.status])).toContainEqual(['kpi:dau:2026-11-26', 'raised']);

    // Pub/Sub delivers the completion to kpi-monitor again, and the trigger to etl again (which
    // publishes its completion again): no alert is sent twice.
    const sent = messages(TOPICS.alerts).length;
    const again = pubsubEvent(completion?.data, {
      messageId: completion?.message_id,
      topic: TOPICS.completed,
      attributes: completion?.attributes,
    });
    expect(await post(stack.urls['kpi-monitor'], again)).toBe(204);
    expect(
      await post(
        stack.urls.etl,
        pubsubEvent({ date: DROP }, { messageId: trigger, publishTime: '2026-11-27T06:00:00.000Z' }),
      ),
    ).toBe(204);
    await stack.router?.idle();
    expect(
      messages(TOPICS.completed).filter((message) => (message.data as { run_id: string }).run_id === `etl-${trigger}`),
    ).toHaveLength(2);
    expect(messages(TOPICS.alerts)).toHaveLength(sent);
  });
  expect(
    kpiAlerts().filter((alert) => alert.alert_id === 'kpi:dau:2026-11-25' && alert.status === 'resolved'),
  ).toHaveLength(1);
});
