/**
 * Calendar days as 'YYYY-MM-DD' strings in UTC. All date arithmetic happens here, in TypeScript,
 * so the SQL only ever receives finished dates and timestamps as query parameters.
 */
import { UsageError } from './errors';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export type IsoDate = string;

/** Parses a 'YYYY-MM-DD' day, rejecting impossible dates such as 2026-02-30. */
export function parseIsoDate(value: string, what = 'date'): IsoDate {
  if (ISO_DATE.test(value)) {
    const parsed = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value)) return value;
  }
  throw new UsageError(`${what} must be a calendar day as YYYY-MM-DD, got ${JSON.stringify(value)}`);
}

export function toIsoDate(instant: Date): IsoDate {
  return instant.toISOString().slice(0, 10);
}

export function addDays(day: IsoDate, days: number): IsoDate {
  return toIsoDate(new Date(startOfDay(day).getTime() + days * DAY_MS));
}

/** Midnight UTC at the start of the day. */
export function startOfDay(day: IsoDate): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

/** Every day from start to end, both included. */
export function daysBetween(start: IsoDate, end: IsoDate): IsoDate[] {
  const days: IsoDate[] = [];
  for (let day = start; day <= end; day = addDays(day, 1)) days.push(day);
  return days;
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

/**
 * Resolves a request to an inclusive UTC range. `daysBack` keeps the seed's meaning: today-N to
 * today, so 1 is yesterday and today.
 */
export function resolveDateRange(request: DateRangeRequest, today: IsoDate, defaultDaysBack = 1): DateRange {
  const forms = [request.date !== undefined, request.daysBack !== undefined, request.from !== undefined || request.to !== undefined];
  if (forms.filter(Boolean).length > 1) {
    throw new UsageError('give only one of --date, --days-back, or --from with --to');
  }
  if (request.date !== undefined) {
    const day = parseIsoDate(request.date, '--date');
    return { start: day, end: day };
  }
  if (request.from !== undefined || request.to !== undefined) {
    if (request.from === undefined || request.to === undefined) throw new UsageError('--from and --to go together');
    const start = parseIsoDate(request.from, '--from');
    const end = parseIsoDate(request.to, '--to');
    if (start > end) throw new UsageError(`--from ${start} is after --to ${end}`);
    return { start, end };
  }
  const daysBack = request.daysBack ?? defaultDaysBack;
  if (!Number.isInteger(daysBack) || daysBack < 0) {
    throw new UsageError(`--days-back must be a whole number of days, 0 or more, got ${String(daysBack)}`);
  }
  return { start: addDays(today, -daysBack), end: today };
}
