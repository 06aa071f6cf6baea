/**
 * Anomaly detection for one KPI on one day: pure functions of a daily series, so every method and
 * guard is tested on generated histories without a warehouse.
 *
 * Guards, in the order they apply:
 * - a day before the first day with data: no verdict;
 * - a day with no events at all: raises for every check, as an error
 * - the first warm_up_days of data: no verdict, and never part of a baseline
 * - checks counting users on their first day (installs) on the 3 days after a day without events:
 *   no verdict (they hold the lost day's installs); the seed compared the two latest days present
 *   and so never noticed a lost day;
 * - a segment with rows on every day of its training window and none on this day: raises, lost;
 * - too little history (fewer active days than min_training_days, a single data point among them):
 *   no verdict, and the result says so;
 * - days without events are left out of every baseline: they have raised on their own day, and a 0
 *   in the baseline would make the next normal day look like a spike;
 * - a baseline of 0 has no relative change: any rise raises as a spike;
 * - zero variance (zscore): any value off the constant history raises;
 * - a ratio (numerator / denominator) whose denominator is below min_denominator: no verdict, and
 *   never part of a baseline (a cohort of 12 users moves by 8% with one user);
 * - a change smaller than min_value never raises.
 *
 * Across the days of a series (judgeSeries), in the order a history is lived:
 * - a calendar one_off day is left out of every baseline, and a verdict raised on it is muted;
 * - a calendar new_normal restarts the baseline on its day: only days from it train, warm-up again;
 * - with exclude_raised_days, a raised day the series came back from is left out of later
 *   baselines, so one spike does not widen the band that should catch the next; a raised level that
 *   the next day holds (beyond the same band, on the same side) stays in, so the baseline follows a
 *   lasting shift as it always did (one run of raised days), instead of raising on it forever.
 */
import { addDays, daysBetween, startOfDay, type IsoDate } from '../dates';
import type { Direction, KpiCheck, Method, Severity } from '../config/kpi-checks';
import { NO_CALENDAR, restartOn, type SeriesCalendar } from '../config/calendar';
import { formatChange, formatNumber, formatPercent } from '../format';

export interface DayPoint {
  value: number;
  /** Whether the day had any events at all (any row in the daily user panel). */
  active: boolean;
  /** Whether the check's query returned a row for the day (a segment's series tells a lost segment by it). */
  present?: boolean;
  /** A ratio check's parts: value is numerator / denominator (0 when the denominator is 0). */
  ratio?: { numerator: number; denominator: number };
}

export interface KpiSeries {
  /** The first day with data among the days read; null when none of them has any. */
  firstDay: IsoDate | null;
  /** Values of the days read; a day absent here counts as a day without events. */
  points: Map<IsoDate, DayPoint>;
  /** The segment this series is of; null for a check without segments. */
  segment?: string | null;
}

/**
 * `error`: the check itself failed (a missing table, a SQL error); the result carries the error.
 * `muted`: it raised on a calendar one_off day; recorded with the entry's note, never sent.
 */
export type Verdict = 'ok' | 'raised' | 'no_verdict' | 'error' | 'muted';

/** One check on one day: the rows of `kpis monitor --json`. */
export interface CheckResult {
  check: string;
  /** The segment of a segmented check; null otherwise. */
  segment: string | null;
  date: IsoDate;
  metric: number | null;
  /** The baseline: the previous day, the same weekday's median, or the training mean. */
  previous_metric: number | null;
  /** Relative change against the baseline (0.25 = +25%); null when the baseline is 0 or absent. */
  change: number | null;
  /** zscore only: standard deviations from the training mean. */
  score: number | null;
  raise_flag: boolean;
  verdict: Verdict;
  method: Method;
  direction: Direction;
  /** thresh_in_percent, or sensitivity for zscore. */
  threshold: number;
  /**
   * The values that would not have raised, from the baseline, the threshold (or sensitivity times
   * the training deviation) and min_value; an end is null where the direction never raises. Null
   * without a baseline. What the report draws as the band.
   */
  band: { low: number | null; high: number | null } | null;
  /** Why a check could not be judged (verdict error): a table it reads is missing, the engine rejected its query, or anything else. */
  failure: 'missing_table' | 'query' | 'other' | null;
  /** A raised result's last TREND_DAYS values, oldest first, the raised day last (null: no value that day); null otherwise. */
  trend: (number | null)[] | null;
  severity: Severity;
  message: string;
  table: string | null;
  /** The note of the calendar one_off entry the day is in (a muted result always has one); absent otherwise. */
  calendar_note?: string;
}

/** Where a day's baseline may come from, as decided by the days before it (judgeSeries). */
export interface BaselineContext {
  /** Days left out of the baseline: calendar one_off days, and raised days. */
  excluded: ReadonlySet<IsoDate>;
  /** The day the baseline started again on (a new normal), and why; null for none. */
  restart: { day: IsoDate; note: string } | null;
}

const NO_CONTEXT: BaselineContext = { excluded: new Set(), restart: null };

/**
 * After a day without events, the users who installed that day show up as first seen on the day
 * they come back: a third of them the next day, fewer on each day after. For checks counting users
 * on their first day (`first_seen`), those days are no signal.
 */
const LOST_DAY_ECHO_DAYS = 3;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The first day a check on `date` reads: enough for its training window. */
export function windowStart(check: Pick<KpiCheck, 'training_days'>, date: IsoDate): IsoDate {
  return addDays(date, -check.training_days);
}

type Result = (verdict: Verdict, message: string, fields?: Partial<CheckResult>) => CheckResult;

/**
 * Judges one day of a series: first the guards that decide without a baseline (no data, warm-up,
 * too little history, a lost day or segment), then the method's baseline, then the verdict.
 */
export function evaluate(
  check: KpiCheck,
  series: KpiSeries,
  date: IsoDate,
  context: BaselineContext = NO_CONTEXT,
): CheckResult {
  const result = resultOf(check, series, date);
  const guarded = guards(check, series, date, result, context);
  if ('verdict' in guarded) return guarded;
  const { point, training } = guarded;
  const values = training.map((day) => (series.points.get(day) as DayPoint).value);
  const baseline = baselineOf(check.method, date, training, values, point.value);
  if (baseline === null) {
    return result(
      'no_verdict',
      `no earlier ${WEEKDAYS[startOfDay(date).getUTCDay()]} with data in the last ${check.training_days} days (too little history, no verdict)`,
      {
        metric: point.value,
      },
    );
  }
  return verdict(check, point, baseline, values, result);
}

/** The day's result of a verdict and its message; `fields` adds what the verdict measured. */
function resultOf(check: KpiCheck, series: KpiSeries, date: IsoDate): Result {
  const threshold = check.method === 'zscore' ? check.sensitivity : check.thresh_in_percent;
  const segment = series.segment ?? null;
  return (verdict, message, fields = {}) => ({
    check: check.name,
    segment,
    date,
    metric: null,
    previous_metric: null,
    change: null,
    score: null,
    raise_flag: verdict === 'raised',
    verdict,
    method: check.method,
    direction: check.direction,
    threshold,
    band: null,
    failure: null,
    trend: verdict === 'raised' ? trendOf(series, date) : null,
    severity: check.severity,
    message: `${checkLabel(check.name, segment)} on ${date}: ${message}${check.note ? ` (${check.note})` : ''}`,
    table: check.table_id === null ? null : `${check.dataset}.${check.table_id}`,
    ...fields,
  });
}

/** A training day: one with events, and for a ratio a denominator of at least min_denominator. */
function usable(check: KpiCheck, point: DayPoint | undefined): boolean {
  return point !== undefined && point.active && (!point.ratio || point.ratio.denominator >= check.min_denominator);
}

/** A point's value, with a ratio's numerator and denominator: `0.25 (30 / 120)`. */
function formatRatio(point: DayPoint): string {
  if (!point.ratio) return formatNumber(point.value);
  return `${formatRate(point.value)} (${formatNumber(point.ratio.numerator)} / ${formatNumber(point.ratio.denominator)})`;
}

/** A ratio with the digits a rate needs (0.2514, not 0.3). */
function formatRate(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

/** The verdicts that need no baseline, or the day's point and the training days a baseline is taken from. */
function guards(
  check: KpiCheck,
  series: KpiSeries,
  date: IsoDate,
  result: Result,
  context: BaselineContext,
): CheckResult | { point: DayPoint; training: IsoDate[] } {
  const point = dayGuards(check, series, date, result);
  if ('verdict' in point) return point;
  const warmUp = warmUpGuard(check, series, date, point.value, result, context.restart);
  if ('verdict' in warmUp) return warmUp;
  const echo = firstSeenGuard(check, series, date, point.value, result);
  if (echo) return echo;
  return trainingGuards(check, series, date, point, result, context.excluded, warmUp);
}

/** No data at all, a day before the first, a day without events, a ratio on too few: the day's point otherwise. */
function dayGuards(check: KpiCheck, series: KpiSeries, date: IsoDate, result: Result): CheckResult | DayPoint {
  if (series.firstDay === null) {
    return result('raised', `no events at all on this day, nor on any of the ${check.training_days} days before it`, {
      metric: 0,
      severity: 'error',
    });
  }
  if (date < series.firstDay)
    return result('no_verdict', `before the first day with data (${series.firstDay}): no verdict`);
  const point: DayPoint = series.points.get(date) ?? { value: 0, active: false, present: false };
  if (!point.active) {
    return result('raised', 'no events at all on this day: the source lost it or the ETL did not build it', {
      metric: 0,
      severity: 'error',
    });
  }
  if (point.ratio && point.ratio.denominator < check.min_denominator) {
    return result(
      'no_verdict',
      `${formatRatio(point)}: a denominator below min_denominator (${formatNumber(check.min_denominator)}), no verdict`,
      { metric: point.value },
    );
  }
  return point;
}

/** The warm-up after the first day of data, or after a new normal: the day it ends, and how messages name the restart. */
function warmUpGuard(
  check: KpiCheck,
  series: KpiSeries,
  date: IsoDate,
  value: number,
  result: Result,
  restartOf: BaselineContext['restart'],
): CheckResult | { warmedUp: IsoDate; since: string } {
  const firstDay = series.firstDay as IsoDate;
  // A new normal is a first day of data again: warm-up, and training only from it.
  const restart = restartOf !== null && restartOf.day > firstDay ? restartOf : null;
  const since = restart === null ? '' : ` since the baseline restarted on ${restart.day} (${restart.note})`;
  const warmedUp = addDays(restart?.day ?? firstDay, check.warm_up_days);
  if (date < warmedUp) {
    const what =
      restart === null
        ? `of data (warm-up, from ${firstDay})`
        : `of a new normal (warm-up, from ${restart.day}: ${restart.note})`;
    const days = check.warm_up_days === 1 ? 'day' : `${check.warm_up_days} days`;
    return result('no_verdict', `in the first ${days} ${what}: no verdict`, { metric: value });
  }
  return { warmedUp, since };
}

/** A first_seen count after a lost day counts the users the lost day did not see: no verdict. */
function firstSeenGuard(
  check: KpiCheck,
  series: KpiSeries,
  date: IsoDate,
  value: number,
  result: Result,
): CheckResult | undefined {
  if (!check.first_seen) return undefined;
  const lost = daysBetween(addDays(date, -LOST_DAY_ECHO_DAYS), addDays(date, -1)).find(
    (day) => day >= (series.firstDay as IsoDate) && !series.points.get(day)?.active,
  );
  if (lost)
    return result(
      'no_verdict',
      `${lost} had no events, so this day's ${check.name} include users first seen late: no verdict`,
      { metric: value },
    );
  return undefined;
}

/** The training days, enough of them for the method, and a segment lost after a full window. */
function trainingGuards(
  check: KpiCheck,
  series: KpiSeries,
  date: IsoDate,
  point: DayPoint,
  result: Result,
  excluded: ReadonlySet<IsoDate>,
  { warmedUp, since }: { warmedUp: IsoDate; since: string },
): CheckResult | { point: DayPoint; training: IsoDate[] } {
  const firstTrainingDay = [windowStart(check, date), warmedUp].sort().at(-1) as IsoDate;
  const training =
    firstTrainingDay < date
      ? daysBetween(firstTrainingDay, addDays(date, -1)).filter(
          (day) => usable(check, series.points.get(day)) && !excluded.has(day),
        )
      : [];
  // A standard deviation needs two values, whatever the config says.
  const needed = Math.max(check.min_training_days, check.method === 'zscore' ? 2 : 1);
  if (training.length < needed) {
    const what =
      training.length === 0
        ? 'no earlier day with data to compare with'
        : `only ${training.length} earlier day(s) with data in the last ${check.training_days}`;
    return result('no_verdict', `${what}${since}; ${check.method} needs ${needed} (too little history, no verdict)`, {
      metric: point.value,
    });
  }
  // A segment that had rows on every day of its training window and has none today is lost, like
  // a day without events for the whole product: it raises whatever the method would say of a 0.
  if ((series.segment ?? null) !== null && !point.present && training.every((day) => series.points.get(day)?.present)) {
    return result(
      'raised',
      `no rows on this day after rows on each of the ${training.length} days before it (segment lost)`,
      { metric: 0, severity: 'error' },
    );
  }
  return { point, training };
}

/**
 * Judges a series on `dates` day by day from the first day it holds, so what each day decided (a
 * raised day left out, or kept when the next day held its level) is known to the days after it, and the
 * calendar's entries apply. Days before the series' first point were not read: they count as not
 * raised (the monitor reads a training window more than the days it judges need, for this).
 */
export function judgeSeries(
  check: KpiCheck,
  series: KpiSeries,
  dates: readonly IsoDate[],
  calendar: SeriesCalendar = NO_CALENDAR,
): CheckResult[] {
  if (!check.exclude_raised_days && calendar.oneOff.size === 0 && calendar.restarts.length === 0)
    return dates.map((date) => evaluate(check, series, date));
  const last = [...dates].sort().at(-1);
  if (last === undefined) return [];
  const wanted = new Set(dates);
  const excluded = new Set<IsoDate>(calendar.oneOff.keys());
  let lastRaised: CheckResult | null = null;
  const judged = new Map<IsoDate, CheckResult>();
  for (const day of [...new Set([...series.points.keys(), ...dates])].filter((day) => day <= last).sort()) {
    const note = calendar.oneOff.get(day);
    // A one_off day's value decides nothing, not even whether a raised level held.
    if (note !== undefined) {
      const result = evaluate(check, series, day, { excluded, restart: restartOn(calendar, day) });
      judged.set(day, result.verdict === 'raised' ? muted(result, note) : { ...result, calendar_note: note });
      continue;
    }
    // Left out for good only if the series came back; a level that held is the KPI's, and trains.
    if (lastRaised !== null && heldLevelOn(lastRaised, series.points.get(day))) excluded.delete(lastRaised.date);
    const result = evaluate(check, series, day, { excluded, restart: restartOn(calendar, day) });
    judged.set(day, result);
    lastRaised = leftOut(check, result, excluded);
  }
  return dates.filter((date) => wanted.has(date)).map((date) => judged.get(date) as CheckResult);
}

/** Whether the day has events at a raised day's level. */
function heldLevelOn(raised: CheckResult, point: DayPoint | undefined): boolean {
  return point?.active === true && heldLevel(raised, point.value);
}

/**
 * With exclude_raised_days, a raised day leaves the baseline; returns it when a later day may find
 * its level held. Only a spike or drop against a baseline can become a level; a lost day cannot.
 */
function leftOut(check: KpiCheck, result: CheckResult, excluded: Set<IsoDate>): CheckResult | null {
  if (!check.exclude_raised_days || result.verdict !== 'raised') return null;
  excluded.add(result.date);
  return result.previous_metric !== null && result.metric !== null ? result : null;
}

/**
 * Whether a value stayed at a raised day's level: beyond the band that day raised against, on the
 * same side. A day of noise that raised is followed by one inside the band, and stays left out.
 */
function heldLevel(raised: CheckResult, value: number): boolean {
  const up = (raised.metric as number) > (raised.previous_metric as number);
  const edge = up ? raised.band?.high : raised.band?.low;
  if (edge === null || edge === undefined) return false;
  return up ? value > edge : value < edge;
}

/** A verdict raised on a calendar one_off day: kept, with the entry's note, and never sent. */
function muted(result: CheckResult, note: string): CheckResult {
  return {
    ...result,
    verdict: 'muted',
    raise_flag: false,
    calendar_note: note,
    message: `${result.message}; muted by the calendar: ${note}`,
  };
}

/** Against the baseline: ok within the threshold (or sensitivity) and min_value, raised beyond it in an allowed direction. */
function verdict(
  check: KpiCheck,
  point: DayPoint,
  baseline: { value: number; label: string },
  values: number[],
  result: Result,
): CheckResult {
  const value = point.value;
  const change = baseline.value === 0 ? null : (value - baseline.value) / baseline.value;
  const deviation = check.method === 'zscore' ? standardDeviation(values, baseline.value) : 0;
  const fields = {
    metric: value,
    previous_metric: round(baseline.value),
    change: change === null ? null : round(change),
    band: bandOf(check, baseline.value, deviation),
  };
  const versus = `${formatRatio(point)} against ${(point.ratio ? formatRate : formatNumber)(baseline.value)} (${baseline.label})`;

  if (value === baseline.value) return result('ok', `${versus}: no change`, fields);
  if (Math.abs(value - baseline.value) < check.min_value) {
    return result('ok', `${versus}: a change below the floor of ${formatNumber(check.min_value)} (min_value)`, fields);
  }
  const up = value > baseline.value;
  const judged: Judged = {
    versus,
    word: up ? 'spike' : 'drop',
    allowed: check.direction === 'both' || (check.direction === 'spike') === up,
    fields,
    result,
  };
  if (check.method === 'zscore') return zscoreVerdict(check, value - baseline.value, deviation, judged);
  return changeVerdict(check, change, judged);
}

/** What a verdict's message and fields start from, and whether the change's direction may raise. */
interface Judged {
  versus: string;
  word: 'spike' | 'drop';
  allowed: boolean;
  fields: Partial<CheckResult>;
  result: Result;
}

/** zscore: raised beyond `sensitivity` standard deviations; on a constant history, any change is. */
function zscoreVerdict(
  check: KpiCheck,
  difference: number,
  deviation: number,
  { versus, word, allowed, fields, result }: Judged,
): CheckResult {
  if (deviation === 0) {
    const message = `${versus}: the history is constant, so any change is unusual (${word})`;
    return result(allowed ? 'raised' : 'ok', message, fields);
  }
  const score = difference / deviation;
  const beyond = Math.abs(score) > check.sensitivity;
  const message = `${versus}, z = ${score.toFixed(2)} against ±${check.sensitivity}${beyond ? ` (${word})` : ''}`;
  return result(beyond && allowed ? 'raised' : 'ok', message, { ...fields, score: round(score) });
}

/** The other methods: raised beyond thresh_in_percent; a rise from 0 always is. */
function changeVerdict(
  check: KpiCheck,
  change: number | null,
  { versus, word, allowed, fields, result }: Judged,
): CheckResult {
  if (change === null) return result(allowed ? 'raised' : 'ok', `${versus}: rose from 0 (${word})`, fields);
  const beyond = Math.abs(change) > check.thresh_in_percent;
  // The change as stored (rounded), so the message reads like every table that shows the change.
  const message = `${versus}, ${formatChange(fields.change ?? change)} against ±${formatPercent(check.thresh_in_percent)}${beyond ? ` (${word})` : ''}`;
  return result(beyond && allowed ? 'raised' : 'ok', message, fields);
}

/** Days of trend a raised result carries: two weeks, the weekly rhythm twice, for Slack's sparkline. */
export const TREND_DAYS = 14;

function trendOf(series: KpiSeries, date: IsoDate): (number | null)[] {
  return daysBetween(addDays(date, -(TREND_DAYS - 1)), date).map((day) => {
    const point = series.points.get(day);
    return point && day >= (series.firstDay ?? day) ? point.value : null;
  });
}

/** What evaluate lets pass around a baseline: within the threshold, or closer than min_value. */
function bandOf(check: KpiCheck, baseline: number, deviation: number): CheckResult['band'] {
  const reach =
    check.method === 'zscore' ? check.sensitivity * deviation : Math.abs(baseline) * check.thresh_in_percent;
  const half = Math.max(reach, check.min_value);
  return {
    low: check.direction === 'spike' ? null : round(baseline - half),
    high: check.direction === 'drop' ? null : round(baseline + half),
  };
}

/** `check` or `check[segment]`, as messages and tables name a result. */
export function checkLabel(check: string, segment: string | null): string {
  return segment === null ? check : `${check}[${segment}]`;
}

function baselineOf(
  method: Method,
  date: IsoDate,
  training: IsoDate[],
  values: number[],
  value: number,
): { value: number; label: string } | null {
  switch (method) {
    case 'pct_change': {
      const last = training.length - 1;
      const day = training[last] as IsoDate;
      return {
        value: values[last] as number,
        label: day === addDays(date, -1) ? 'the day before' : `${day}, the last earlier day with data`,
      };
    }
    case 'weekday': {
      // The median, so one anomalous week in the window does not move the baseline.
      const weekday = startOfDay(date).getUTCDay();
      const same = values.filter((_value, index) => startOfDay(training[index] as IsoDate).getUTCDay() === weekday);
      if (same.length === 0) return null;
      return {
        value: robustMedian(same, value),
        label: `median of ${same.length} earlier ${WEEKDAYS[weekday]}${same.length === 1 ? '' : 's'}`,
      };
    }
    case 'zscore':
      return {
        value: values.reduce((sum, value) => sum + value, 0) / values.length,
        label: `mean of ${values.length} earlier days`,
      };
  }
}

/**
 * The median; of an even count, the one of the two middle values nearer to `value`. Averaging them
 * would let one odd week among two (the first weeks of a history) pull the baseline halfway.
 */
function robustMedian(values: number[], value: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  const [low, high] = [sorted[middle - 1] as number, sorted[middle] as number];
  return Math.abs(value - low) <= Math.abs(value - high) ? low : high;
}

/** The sample standard deviation (n - 1); a single value has none, which reads as 0. */
function standardDeviation(values: number[], mean: number): number {
  if (values.length < 2) return 0;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
