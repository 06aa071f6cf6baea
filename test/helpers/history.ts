/**
 * Event histories for the monitors: the demo's steady product (no install spike of its own) with
 * anomalies injected on chosen days, the way a broken source or a real event would show them.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toIsoDate } from '../../shared/dates';
import { generateDemoEvents } from '../../shared/events/demo';
import type { TopicRecord } from '../../shared/messaging/publisher';
import type { Row } from '../../shared/warehouse/warehouse';

export type Anomaly = 'new_users_spike' | 'returning_drop' | 'empty' | 'event_burst';

export function historyWithAnomalies(today: string, days: number, anomalies: Record<string, Anomaly>): Row[] {
  const rows = generateDemoEvents({ today, now: new Date(`${today}T23:59:59Z`), days, anomalyDay: null });
  const firstDay = new Map<string, string>();
  for (const row of rows) {
    const day = toIsoDate(row.time as Date);
    const known = firstDay.get(row.user_id as string);
    if (known === undefined || day < known) firstDay.set(row.user_id as string, day);
  }
  const out: Row[] = [];
  for (const row of rows) {
    const day = toIsoDate(row.time as Date);
    const anomaly = anomalies[day];
    if (anomaly === 'empty') continue;
    // Keep new users and one returning user in three: a source that lost part of the day.
    if (
      anomaly === 'returning_drop' &&
      firstDay.get(row.user_id as string) !== day &&
      hash(row.user_id as string) % 3 !== 0
    )
      continue;
    out.push(row);
    // The same events three times over: a client that resends, with the users unchanged.
    if (anomaly === 'event_burst') {
      for (const shift of [1, 2]) out.push({ ...row, time: new Date((row.time as Date).getTime() + shift) });
    }
  }
  for (const [day, anomaly] of Object.entries(anomalies)) {
    if (anomaly !== 'new_users_spike') continue;
    // 700 users from a campaign, each with a few events that day and never again.
    for (let n = 0; n < 700; n += 1) {
      for (let e = 0; e < 3; e += 1) {
        out.push({
          user_id: `campaign_${day}_${n}`,
          time: new Date(`${day}T${String(8 + e).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:00Z`),
          event_name: 'session_start',
          coins_added: null,
        });
      }
    }
  }
  return out;
}

function hash(text: string): number {
  let value = 0;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) >>> 0;
  return value;
}

export function tempDir(prefix = 'kpis-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** The messages a local topic holds, oldest first. */
export function topicMessages(dir: string, topic: string): TopicRecord[] {
  const file = path.join(dir, `${topic}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TopicRecord);
}

/**
 * A second, independent kind of history: a pool of users, each active on a day with their own
 * chance (a fifth more on weekends), 60 to 70 new users a day, and 2.2% of users leaving for good
 * each day, so the product is steady. Anomalies by day index: a campaign of 800 one-day users, half
 * of the day's activity lost, a day with nothing, every event sent three times.
 */
export function poolHistory(
  seed: number,
  start: string,
  days: number,
  anomalies: Record<number, 'spike' | 'drop' | 'empty' | 'burst'>,
): Row[] {
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const first = Date.parse(`${start}T00:00:00Z`);
  const users: { id: string; chance: number; born: number; gone: boolean }[] = [];
  for (let i = 0; i < 3000; i += 1) users.push({ id: `p${i}`, chance: 0.1 + random() * 0.4, born: -1, gone: false });
  const rows: Row[] = [];
  for (let day = 0; day < days; day += 1) {
    const midnight = first + day * 86_400_000;
    const weekday = new Date(midnight).getUTCDay();
    const lift = weekday === 0 || weekday === 6 ? 1.2 : 1;
    const newcomers = 60 + Math.floor(random() * 10);
    for (let k = 0; k < newcomers; k += 1)
      users.push({ id: `n${day}_${k}`, chance: 0.1 + random() * 0.4, born: day, gone: false });
    const anomaly = anomalies[day];
    if (anomaly === 'empty') continue;
    for (const user of users) {
      if (user.gone) continue;
      if (random() < 0.022) {
        user.gone = true;
        continue;
      }
      if (user.born !== day && random() >= user.chance * lift) continue;
      if (anomaly === 'drop' && random() < 0.5) continue;
      const events = (1 + Math.floor(random() * 6)) * (anomaly === 'burst' ? 3 : 1);
      for (let e = 0; e < events; e += 1)
        rows.push({
          user_id: user.id,
          time: new Date(midnight + Math.floor(random() * 86_400_000)),
          event_name: 'play',
          coins_added: random() < 0.1 ? 50 : null,
        });
    }
    if (anomaly === 'spike')
      for (let k = 0; k < 800; k += 1)
        rows.push({
          user_id: `c${day}_${k}`,
          time: new Date(midnight + k * 1000),
          event_name: 'open',
          coins_added: null,
        });
  }
  return rows;
}
