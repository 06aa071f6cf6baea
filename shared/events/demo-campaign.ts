/**
 * The demo's known event: a marketing campaign day, planted into the seeded history by `npm start`
 * and named in the demo's calendar, so the report shows a day the monitor saw raise and muted.
 * Campaign users come for that day only: installs, active users and events jump, and nothing after.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CALENDAR, readCalendarFile, writeCalendarFile, type CalendarEntryInput } from '../config/calendar';
import { addDays, startOfDay, type IsoDate } from '../dates';
import type { TableSchema } from '../schema';
import type { JobContext, Row, Warehouse } from '../warehouse/warehouse';
import { prng } from './demo';
import { appendEvents } from './load-events';

/** Twelve days before the seed day: inside the report's weeks, and a week and more before the daily run's day. */
export const CAMPAIGN_DAYS_AGO = 12;
/** About three times the demo's daily installs: every volume check raises on the day. */
const CAMPAIGN_USERS = 400;
const CAMPAIGN_EVENTS = ['session_start', 'level_start', 'level_complete'] as const;

export function campaignDay(today: IsoDate): IsoDate {
  return addDays(today, -CAMPAIGN_DAYS_AGO);
}

/** The calendar entry that names the campaign: every check, one day, muted with its note. */
export function campaignEntry(today: IsoDate): CalendarEntryInput {
  return {
    date: campaignDay(today),
    checks: 'all',
    kind: 'one_off',
    note: 'Demo install campaign (planted by npm start): a known spike, not an incident',
  };
}

/** The campaign's events (a few per user during the day, before `now`), with the source's optional columns when it has them. */
export function campaignEvents(day: IsoDate, now: Date, columns: readonly string[]): Row[] {
  const random = prng(20261201);
  const start = startOfDay(day).getTime();
  const rows: Row[] = [];
  for (let n = 0; n < CAMPAIGN_USERS; n += 1) {
    const user = `campaign${String(n + 1).padStart(4, '0')}`;
    for (const name of CAMPAIGN_EVENTS) {
      const time = new Date(start + Math.floor(random() * 86_400_000));
      if (time > now) continue;
      rows.push({
        user_id: user,
        time,
        event_name: name,
        coins_added: name === 'level_complete' ? 10 : null,
        ...(columns.includes('platform') ? { platform: 'ANDROID' } : {}),
        ...(columns.includes('country') ? { country: 'United States' } : {}),
      });
    }
  }
  return rows;
}

/** Appends the campaign's events to the demo source; returns how many. */
export function plantCampaign(
  warehouse: Warehouse,
  source: TableSchema,
  today: IsoDate,
  now: Date,
  context: JobContext,
): Promise<number> {
  const columns = source.columns.map((column) => column.name);
  return appendEvents(warehouse, source, campaignEvents(campaignDay(today), now, columns), context);
}

/** Where `npm start` keeps its calendar (unless KPIS_CALENDAR names another): the shipped one's entries and the campaign's. */
export const DEMO_CALENDAR = '.data/calendar.json';

/**
 * Writes the demo's calendar: the shipped entries, and the campaign's when the history was just
 * seeded (`seededToday`). An existing file is kept when nothing was seeded: it names the campaign of
 * the history in the warehouse.
 */
export function writeDemoCalendar(file: string, seededToday: IsoDate | null): void {
  if (seededToday === null && existsSync(file)) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeCalendarFile(file, [
    ...readCalendarFile(DEFAULT_CALENDAR),
    ...(seededToday === null ? [] : [campaignEntry(seededToday)]),
  ]);
}
