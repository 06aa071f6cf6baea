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
    if (anomaly === 'returning_drop' && firstDay.get(row.user_id as string) !== day && hash(row.user_id as string) % 3 !== 0) continue;
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
        out.push({ user_id: `campaign_${day}_${n}`, time: new Date(`${day}T${String(8 + e).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:00Z`), event_name: 'session_start', coins_added: null });
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
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as TopicRecord);
}

