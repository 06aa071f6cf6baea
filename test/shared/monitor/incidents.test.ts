/**
 * Incidents end to end on DuckDB: generated histories of lost days (each raises, as an error, for
 * as long as it lasts), judged by the real KPI monitor day after day, with redeliveries and
 * reruns. Each incident of N days publishes one alert, at most N-1 updates, and one recovery.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Alert } from '../../../shared/alerts/alert';
import { loadKpiChecks, type KpiCheck } from '../../../shared/config/kpi-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir, topicMessages } from '../../helpers/history';
import { context, openMemoryWarehouse } from '../../helpers/warehouse';

const FIRST = '2026-10-01';
/** Days of steady history before the generated days: the check's baseline. */
const STEADY = 3;

function checkWith(remindAfterHours: number): KpiCheck[] {
  const file = path.join(tempDir('kpis-incidents-'), 'kpis_config.json');
  const users = {
    table_id: 'daily_user_panel',
    date_column: 'date',
    value: 'COUNT(*)',
    method: 'pct_change',
    warm_up_days: 0,
    min_training_days: 1,
  };
  writeFileSync(file, JSON.stringify({ defaults: { remind_after_hours: remindAfterHours }, kpis: { users } }));
  return loadKpiChecks(file);
}

/** A daily user panel with 10 users on every day but the lost ones (no row at all: the day raises). */
async function panel(lost: boolean[]): Promise<{ warehouse: DuckDbWarehouse; days: string[] }> {
  const warehouse = await openMemoryWarehouse();
  const days = daysBetween(FIRST, addDays(FIRST, STEADY + lost.length - 1));
  await warehouse.query('CREATE SCHEMA IF NOT EXISTS daily_kpis', {}, context);
  await warehouse.query('CREATE TABLE daily_kpis.daily_user_panel (date DATE, user_id VARCHAR)', {}, context);
  const active = days.filter((_, index) => index < STEADY || !lost[index - STEADY]);
  // Test-made dates only, so a literal list is safe here.
  const values = active.map((day) => `(DATE '${day}')`).join(', ');
  await warehouse.query(
    `INSERT INTO daily_kpis.daily_user_panel SELECT t.d, 'u' || CAST(r.u AS VARCHAR) FROM (VALUES ${values}) AS t(d), range(10) AS r(u)`,
    {},
    context,
  );
  return { warehouse, days: days.slice(STEADY) };
}

/** Runs of consecutive lost days: [first index, length]. */
function incidentsOf(lost: boolean[]): [number, number][] {
  const runs: [number, number][] = [];
  lost.forEach((isLost, index) => {
    if (!isLost) return;
    const last = runs.at(-1);
    if (last && last[0] + last[1] === index) last[1] += 1;
    else runs.push([index, 1]);
  });
  return runs;
}

test('an incident of N days publishes 1 alert, at most N-1 updates (one per reminder) and 1 recovery, across redeliveries and reruns', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.boolean(), { minLength: 4, maxLength: 9 }),
      fc.constantFrom(12, 24, 48, 72),
      fc.array(fc.constantFrom('once', 'redelivered', 'rerun_yesterday'), { minLength: 9, maxLength: 9 }),
      async (lost, remindAfterHours, deliveries) => {
        const { warehouse, days } = await panel(lost);
        const dir = tempDir('kpis-incidents-topics-');
        const checks = checkWith(remindAfterHours);
        const deps = {
          warehouse,
          publisher: new LocalTopicPublisher(dir),
          slackWebhook: async () => null,
          clock: () => new Date(`${days.at(-1)}T12:00:00Z`),
          logger: silentLogger,
        };
        try {
          for (const [index, day] of days.entries()) {
            const how = deliveries[index];
            const runs =
              how === 'redelivered'
                ? [[day], [day]]
                : how === 'rerun_yesterday' && index > 0
                  ? [[days[index - 1] as string], [day]]
                  : [[day]];
            for (const [n, dates] of runs.entries())
              await runKpiMonitor(deps, checks, { dates, runId: `run-${day}-${n}`, username: 'test' });
          }
          // A backfill of every day at the end publishes nothing new.
          const before = topicMessages(dir, TOPICS.alerts).length;
          await runKpiMonitor(deps, checks, { dates: days, runId: 'backfill', username: 'test' });
          expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(before);

          const published = topicMessages(dir, TOPICS.alerts).map((message) => message.data as Alert);
          const every = Math.max(1, Math.ceil(remindAfterHours / 24));
          const expected = incidentsOf(lost).flatMap(([start, length]) => {
            const id = `kpi:users:${days[start]}`;
            const updates = daysBetween(days[start] as string, days[start + length - 1] as string)
              .slice(1)
              .filter((_, k) => (k + 1) % every === 0);
            return [
              [id, 'raised', days[start]],
              ...updates.map((day) => [id, 'ongoing', day]),
              ...(start + length < days.length ? [[id, 'recovered', days[start + length]]] : []),
            ];
          });
          expect(published.map((alert) => [alert.incident_id, alert.status, alert.date]).sort()).toEqual(
            expected.sort(),
          );
          for (const [start, length] of incidentsOf(lost)) {
            const ofIncident = published.filter((alert) => alert.incident_id === `kpi:users:${days[start]}`);
            expect(ofIncident.filter((alert) => alert.status === 'raised')).toHaveLength(1);
            expect(ofIncident.filter((alert) => alert.status === 'ongoing').length).toBeLessThanOrEqual(length - 1);
            expect(ofIncident.filter((alert) => alert.status === 'recovered').length).toBe(
              start + length < days.length ? 1 : 0,
            );
          }
        } finally {
          await warehouse.close();
        }
      },
    ),
    { numRuns: 12 },
  );
}, 180_000);

test('an ongoing day says since when and for how long, with its own value; the recovery closes the same incident', async () => {
  const { warehouse, days } = await panel([true, true, true, false]);
  const dir = tempDir('kpis-incidents-topics-');
  const deps = {
    warehouse,
    publisher: new LocalTopicPublisher(dir),
    slackWebhook: async () => null,
    clock: () => new Date(`${days.at(-1)}T12:00:00Z`),
    logger: silentLogger,
  };
  try {
    for (const day of days)
      await runKpiMonitor(deps, checkWith(24), { dates: [day], runId: `run-${day}`, username: 'test' });
    const published = topicMessages(dir, TOPICS.alerts);
    expect(
      published
        .map((message) => [message.data as Alert, message.attributes])
        .map(([alert, attributes]) => [(alert as Alert).status, (attributes as Record<string, string>).status]),
    ).toEqual([
      ['raised', 'raised'],
      ['ongoing', 'ongoing'],
      ['ongoing', 'ongoing'],
      ['recovered', 'recovered'],
    ]);
    const third = published[2]?.data as Alert;
    expect(third).toMatchObject({
      alert_id: `kpi:users:${days[2]}`,
      incident_id: `kpi:users:${days[0]}`,
      incident_start: days[0],
      incident_days: 3,
      metric: 0,
    });
    expect(third.message).toMatch(new RegExp(`^ongoing since ${days[0]} \\(3 days\\): `));
    const recovered = published[3]?.data as Alert;
    expect(recovered).toMatchObject({
      alert_id: `kpi:users:${days[3]}`,
      incident_id: `kpi:users:${days[0]}`,
      incident_days: 3,
      metric: 10,
    });
  } finally {
    await warehouse.close();
  }
});

/** A check of the panel's rows per user (each user a segment), in a config of its own. */
function perUserConfig(defaults: Record<string, unknown> = {}): string {
  const file = path.join(tempDir('kpis-incidents-'), 'kpis_config.json');
  const perUser = {
    table_id: 'daily_user_panel',
    date_column: 'date',
    value: 'COUNT(*)',
    segment: 'user_id',
    method: 'pct_change',
    warm_up_days: 0,
    min_training_days: 1,
  };
  writeFileSync(file, JSON.stringify({ defaults, kpis: { per_user: perUser } }));
  return file;
}

/** The KPI monitor on each of `days` in turn (clock at the last one's noon); the alerts it published. */
async function judgeEachDay(
  warehouse: DuckDbWarehouse,
  file: string,
  days: string[],
  clockDay: string,
): Promise<Alert[]> {
  const dir = tempDir('kpis-incidents-topics-');
  const deps = {
    warehouse,
    publisher: new LocalTopicPublisher(dir),
    slackWebhook: async () => null,
    clock: () => new Date(`${clockDay}T12:00:00Z`),
    logger: silentLogger,
  };
  for (const day of days)
    await runKpiMonitor(deps, loadKpiChecks(file), { dates: [day], runId: `run-${day}`, username: 'test' });
  return topicMessages(dir, TOPICS.alerts).map((message) => message.data as Alert);
}

test('a segmented check that raised as a whole on a day without events recovers as a whole when judged per segment again', async () => {
  const { warehouse, days } = await panel([false, true, false]);
  try {
    const published = await judgeEachDay(warehouse, perUserConfig(), days, days.at(-1) as string);
    expect(published.map((alert) => [alert.status, alert.segment, alert.date, alert.incident_id])).toEqual([
      ['raised', null, days[1], `kpi:per_user:${days[1]}`],
      ['recovered', null, days[2], `kpi:per_user:${days[1]}`],
    ]);
    expect(published[1]).toMatchObject({
      alert_id: `kpi:per_user:${days[2]}`,
      metric: null,
      incident_days: 1,
      severity: 'error',
    });
  } finally {
    await warehouse.close();
  }
});

test('a segment name of megabytes keeps one incident across days: results, alerts and incidents name it alike', async () => {
  const warehouse = await openMemoryWarehouse();
  const file = perUserConfig({ remind_after_hours: 24 });
  const long = 'L'.repeat(1_000_000);
  const days = daysBetween(FIRST, addDays(FIRST, 5));
  // Ten short users every day; the long one on the steady days and the last, lost on the two between.
  const present = [true, true, true, false, false, true];
  try {
    await warehouse.query('CREATE SCHEMA IF NOT EXISTS daily_kpis', {}, context);
    await warehouse.query('CREATE TABLE daily_kpis.daily_user_panel (date DATE, user_id VARCHAR)', {}, context);
    for (const [index, day] of days.entries()) {
      await warehouse.query(
        "INSERT INTO daily_kpis.daily_user_panel SELECT CAST(@day AS DATE), 'u' || CAST(r.u AS VARCHAR) FROM range(10) AS r(u)",
        { day: { type: 'DATE', value: day } },
        context,
      );
      if (present[index])
        await warehouse.query(
          'INSERT INTO daily_kpis.daily_user_panel VALUES (CAST(@day AS DATE), @user)',
          { day: { type: 'DATE', value: day }, user: { type: 'STRING', value: long } },
          context,
        );
    }
    const published = await judgeEachDay(warehouse, file, days.slice(STEADY), days.at(-1) as string);
    expect(published.map((alert) => [alert.status, alert.date, alert.segment?.length])).toEqual([
      ['raised', days[3], 256],
      ['ongoing', days[4], 256],
      ['recovered', days[5], 256],
    ]);
    expect(new Set(published.map((alert) => alert.incident_id))).toEqual(new Set([published[0]?.alert_id]));
  } finally {
    await warehouse.close();
  }
});
