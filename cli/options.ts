/** Flags several commands share: the days to work on, and how they are checked. */
import { dayCount, resolveDateRange, type DateRange } from '../shared/dates';
import { DEFAULT_REPORT_DAYS } from '../shared/report/report';
import { UsageError } from '../shared/errors';
import { addDays } from '../shared/dates';
import { type Options, type Values } from './command';

export const DATE_HELP = `  --date D           one day, YYYY-MM-DD (a day of the config's time_zone, default UTC)
  --days-back N      today-N .. today (default 1: yesterday and today)
  --from D --to D    an inclusive range`;

export const DATE_OPTIONS: Options = {
  date: { type: 'string' },
  'days-back': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
};

export function dateRangeFrom(values: Values, runtimeToday: string) {
  const daysBack = values['days-back'];
  if (daysBack !== undefined && !/^\d+$/.test(String(daysBack))) {
    throw new UsageError(`--days-back must be a whole number of days, 0 or more, got ${JSON.stringify(daysBack)}`);
  }
  return resolveDateRange(
    {
      date: values.date as string | undefined,
      daysBack: daysBack === undefined ? undefined : Number(daysBack),
      from: values.from as string | undefined,
      to: values.to as string | undefined,
    },
    runtimeToday,
  );
}

export /** --days-back N, a whole number of days from `min`. */
function wholeDays(raw: string | boolean | undefined, min: number): number {
  if (!/^\d+$/.test(String(raw)) || Number(raw) < min || Number(raw) > 100_000)
    throw new UsageError(`--days-back must be a whole number of days from ${min}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export /**
 * The days a monitor checks: --date, --from/--to, or the --days-back N complete days before today
 * (default yesterday). Dates given are checked against today, as every command's are.
 */
function monitorRange(values: Values, today: string): DateRange {
  const yesterday = addDays(today, -1);
  if (values['days-back'] !== undefined) {
    if (values.date !== undefined || values.from !== undefined || values.to !== undefined)
      throw new UsageError('give only one of --date, --days-back, or --from with --to');
    const days = wholeDays(values['days-back'], 1);
    return resolveDateRange({ from: addDays(yesterday, -(days - 1)), to: yesterday }, today, 0);
  }
  if (values.date === undefined && values.from === undefined && values.to === undefined)
    return { start: yesterday, end: yesterday };
  return resolveDateRange(
    {
      date: values.date as string | undefined,
      from: values.from as string | undefined,
      to: values.to as string | undefined,
    },
    today,
    0,
  );
}

export /** A report's days: --from/--to, or the default weeks up to yesterday; longer than `maximum` ($KPIS_MAX_RANGE_DAYS) is refused before any work. */
function reportRange(values: Values, today: string, maximum: number): DateRange {
  const yesterday = addDays(today, -1);
  const range =
    values.from === undefined && values.to === undefined
      ? { start: addDays(yesterday, -(DEFAULT_REPORT_DAYS - 1)), end: yesterday }
      : resolveDateRange({ from: values.from as string | undefined, to: values.to as string | undefined }, today, 0);
  const days = dayCount(range.start, range.end) + 1;
  if (days > maximum)
    throw new UsageError(
      `--from ${range.start} --to ${range.end} is ${days} days, more than the ${maximum} a report may cover (KPIS_MAX_RANGE_DAYS): narrow the range`,
    );
  return range;
}

/** A comma-separated flag (`--kpis a,b`) as its names; undefined when the flag is absent. */
export function listFlag(value: string | boolean | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}
