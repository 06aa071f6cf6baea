/**
 * Calendar days as 'YYYY-MM-DD' strings in UTC. All date arithmetic happens here, in TypeScript,
 * so the SQL only ever receives finished dates and timestamps as query parameters.
 */
import { UsageError } from './errors';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** BigQuery's DATE range; every day the project handles lies in it, so 'YYYY-MM-DD' strings sort as days. */
export const MIN_DATE = '0001-01-01';
export const MAX_DATE = '9999-12-31';

/** The most days one call of daysBetween lists: over 270 years, far above any run and far below a heap. */
export const MAX_DAYS_LISTED = 100_000;

export type IsoDate = string;

/** Parses a 'YYYY-MM-DD' day, rejecting impossible dates such as 2026-02-30. Total: any input returns or throws at once. */
export function parseIsoDate(value: unknown, what = 'date'): IsoDate {
  if (typeof value === 'string' && ISO_DATE.test(value)) {
    const parsed = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value)) return value;
  }
  throw new UsageError(`${what} must be a calendar day as YYYY-MM-DD, got ${JSON.stringify(value) ?? String(value)}`);
}

/**
 * The day of an instant. Throws outside 0001-01-01..9999-12-31: past year 9999 an ISO string reads
 * `+010000-...`, which sorts before `9999-...` and would send a day loop round forever.
 */
export function toIsoDate(instant: Date): IsoDate {
  const time = instant.getTime();
  if (Number.isNaN(time)) throw new UsageError('not a valid instant');
  const day = instant.toISOString().slice(0, 10);
  if (!ISO_DATE.test(day))
    throw new UsageError(
      `${instant.toISOString()} is outside the days a warehouse can hold (${MIN_DATE}..${MAX_DATE})`,
    );
  return day;
}

export function addDays(day: IsoDate, days: number): IsoDate {
  if (!Number.isFinite(days)) throw new UsageError(`cannot add ${String(days)} days`);
  return toIsoDate(new Date(startOfDay(day).getTime() + days * DAY_MS));
}

/** Midnight UTC at the start of the day. */
export function startOfDay(day: IsoDate): Date {
  return new Date(`${parseIsoDate(day)}T00:00:00.000Z`);
}

/** Whole days from start to end (negative when end is earlier). */
export function dayCount(start: IsoDate, end: IsoDate): number {
  return Math.round((startOfDay(end).getTime() - startOfDay(start).getTime()) / DAY_MS);
}

/** Every day from start to end, both included. Bounded: the count is known before the loop. */
export function daysBetween(start: IsoDate, end: IsoDate): IsoDate[] {
  const count = dayCount(start, end) + 1;
  if (count <= 0) return [];
  if (count > MAX_DAYS_LISTED)
    throw new UsageError(`${start}..${end} is ${count} days, more than ${MAX_DAYS_LISTED} can be listed`);
  const first = startOfDay(start).getTime();
  return Array.from({ length: count }, (_unused, index) => new Date(first + index * DAY_MS).toISOString().slice(0, 10));
}

/**
 * The days a run may touch: from BigQuery's first DATE to tomorrow in the business zone (a zone
 * ahead of UTC is already there). Checked on every date that enters, before anything iterates.
 */
export function checkSaneDay(day: IsoDate, today: IsoDate, what: string): IsoDate {
  const latest = addDays(today, 1);
  if (day < MIN_DATE || day > latest)
    throw new UsageError(`${what} ${day} is outside the days a run may cover (${MIN_DATE}..${latest}, tomorrow)`);
  return day;
}

export interface DateRange {
  start: IsoDate;
  end: IsoDate;
}

/** What a caller may ask for; at most one of the three forms. */
export interface DateRangeRequest {
  date?: string;
  daysBack?: number;
  from?: string;
  to?: string;
}

/** What the caller calls each field of a request, for its messages: flags on the CLI, keys in a message. */
export interface DateRangeFieldNames {
  date: string;
  daysBack: string;
  from: string;
  to: string;
}

const CLI_DATE_FLAGS: DateRangeFieldNames = { date: '--date', daysBack: '--days-back', from: '--from', to: '--to' };

/**
 * Resolves a request to an inclusive UTC range. `daysBack` keeps the seed's meaning: today-N to
 * today, so 1 is yesterday and today. Errors name the fields as `names` does (the CLI's flags by default).
 */
export function resolveDateRange(
  request: DateRangeRequest,
  today: IsoDate,
  defaultDaysBack = 1,
  names: DateRangeFieldNames = CLI_DATE_FLAGS,
): DateRange {
  const forms = [
    request.date !== undefined,
    request.daysBack !== undefined,
    request.from !== undefined || request.to !== undefined,
  ];
  if (forms.filter(Boolean).length > 1) {
    throw new UsageError(`give only one of ${names.date}, ${names.daysBack}, or ${names.from} with ${names.to}`);
  }
  if (request.date !== undefined) {
    const day = checkSaneDay(parseIsoDate(request.date, names.date), today, names.date);
    return { start: day, end: day };
  }
  if (request.from !== undefined || request.to !== undefined)
    return fromToRange(request.from, request.to, today, names);
  return daysBackRange(request.daysBack ?? defaultDaysBack, today, names);
}

/** --from D --to D: both given, each a sane day, in order. */
function fromToRange(
  from: string | undefined,
  to: string | undefined,
  today: IsoDate,
  names: DateRangeFieldNames,
): DateRange {
  if (from === undefined || to === undefined) throw new UsageError(`${names.from} and ${names.to} go together`);
  const start = checkSaneDay(parseIsoDate(from, names.from), today, names.from);
  const end = checkSaneDay(parseIsoDate(to, names.to), today, names.to);
  if (start > end) throw new UsageError(`${names.from} ${start} is after ${names.to} ${end}`);
  return { start, end };
}

/** today-N to today, N a whole number of days that stays after MIN_DATE. */
function daysBackRange(daysBack: number, today: IsoDate, names: DateRangeFieldNames): DateRange {
  if (!Number.isSafeInteger(daysBack) || daysBack < 0 || daysBack > dayCount(MIN_DATE, today)) {
    throw new UsageError(
      `${names.daysBack} must be a whole number of days from 0 to ${dayCount(MIN_DATE, today)}, got ${String(daysBack)}`,
    );
  }
  return { start: addDays(today, -daysBack), end: today };
}

/** The business day's zone when a config names none. */
export const DEFAULT_TIME_ZONE = 'UTC';

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** A formatter for the calendar day in a zone; throws a UsageError naming the zone if it is not an IANA name. */
function dayFormat(timeZone: string): Intl.DateTimeFormat {
  let format = dayFormats.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        era: 'short',
      });
    } catch {
      throw new UsageError(
        `unknown time zone ${JSON.stringify(timeZone)}: give an IANA name such as UTC, Europe/Berlin or America/Los_Angeles`,
      );
    }
    dayFormats.set(timeZone, format);
  }
  return format;
}

/** Checks a time zone name (IANA, e.g. Europe/Berlin) and returns it. */
export function checkTimeZone(timeZone: unknown, what = 'time_zone'): string {
  if (typeof timeZone !== 'string' || timeZone === '')
    throw new UsageError(`${what} must be an IANA time zone name such as Europe/Berlin`);
  dayFormat(timeZone);
  return timeZone;
}

/** The calendar day an instant falls on in a zone: the KPI day of an event, or "today" for a run. */
export function dayIn(instant: Date, timeZone: string): IsoDate {
  const utcDay = toIsoDate(instant); // the same bounds as a UTC day
  if (timeZone === 'UTC') return utcDay;
  const parts = Object.fromEntries(
    dayFormat(timeZone)
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  const year = Number(parts.year);
  if (parts.era !== 'AD' || !(year >= 1 && year <= 9999))
    throw new UsageError(`${instant.toISOString()} is outside the days a warehouse can hold in ${timeZone}`);
  return `${String(year).padStart(4, '0')}-${parts.month}-${parts.day}`;
}

/**
 * The first instant of a day in a zone: local midnight, or the first instant after a gap where a
 * zone skips midnight. Found by bisection on the (non-decreasing) local day of an instant, so a
 * daylight-saving day comes out 23 or 25 hours long without any offset arithmetic.
 */
export function startOfDayIn(day: IsoDate, timeZone: string): Date {
  const midnightUtc = startOfDay(day).getTime();
  if (timeZone === 'UTC') return new Date(midnightUtc);
  // Every zone's offset lies within ±15 hours (Kiribati is +14, Baker Island -12).
  let low = midnightUtc - 15 * 3_600_000; // local day before `day`
  let high = midnightUtc + 15 * 3_600_000; // local day `day` or later
  const before = (instant: number): boolean => {
    try {
      return dayIn(new Date(instant), timeZone) < day;
    } catch {
      return instant < midnightUtc; // outside 0001..9999: only at the very ends of the calendar
    }
  };
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (before(middle)) low = middle;
    else high = middle;
  }
  return new Date(high);
}
