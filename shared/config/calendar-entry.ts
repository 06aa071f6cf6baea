/**
 * A calendar entry as loaded (shared/config/calendar.ts loads and checks them): apart, so the KPI
 * checks that carry their entries (kpi-checks.ts) need not import the loader, which reads them.
 */
import type { IsoDate } from '../dates';

export const CALENDAR_KINDS = ['one_off', 'new_normal'] as const;
export type CalendarKind = (typeof CALENDAR_KINDS)[number];

/** One entry after loading: always a span of days, both ends included. */
export interface CalendarEntry {
  start: IsoDate;
  /** The last day; for an open new_normal (a `date` alone), the same as start. */
  end: IsoDate;
  /** Whether a new_normal lasts (no end given) or ends after `end`. */
  open: boolean;
  checks: string[] | 'all';
  /** Only these segments of the checks; null for every segment and the whole check. */
  segments: string[] | null;
  kind: CalendarKind;
  note: string;
  recurring: boolean;
}
