/**
 * What a baseline learns from, over generated histories: raised days are left out of later ones
 * (exclude_raised_days), calendar one_off days never move one, and a new_normal restarts it.
 */
import fc from 'fast-check';
import { parseCalendar, seriesCalendar, type CalendarEntryInput } from '../../../shared/config/calendar';
import type { KpiCheck, Method } from '../../../shared/config/kpi-checks';
import { check, WEEKLY } from '../../helpers/checks';
import { addDays, daysBetween, startOfDay } from '../../../shared/dates';
import { prng } from '../../../shared/events/demo';
import { judgeSeries, type CheckResult, type KpiSeries } from '../../../shared/monitor/detect';

const FIRST = '2026-06-01';
const LAST = '2026-11-26';
const METHODS: Method[] = ['pct_change', 'weekday', 'zscore'];

interface HistoryOptions {
  level?: number;
  noise?: number;
  weekly?: boolean;
  /** Days whose value is multiplied. */
  factors?: Record<string, number>;
  /** From this day on, every value is multiplied by shift.factor. */
  shift?: { from: string; factor: number };
  seed?: number;
}

function history(options: HistoryOptions = {}): KpiSeries {
  const random = prng(options.seed ?? 7);
  const points = new Map<string, { value: number; active: boolean }>();
  for (const day of daysBetween(FIRST, LAST)) {
    const weekday = options.weekly ? (WEEKLY[startOfDay(day).getUTCDay()] as number) : 1;
    const noise = 1 + (random() * 2 - 1) * (options.noise ?? 0.03);
    const shift = options.shift && day >= options.shift.from ? options.shift.factor : 1;
    points.set(day, {
      value: Math.round((options.level ?? 5000) * weekday * noise * shift * (options.factors?.[day] ?? 1)),
      active: true,
    });
  }
  return { firstDay: FIRST, points };
}

const DAYS = daysBetween('2026-09-01', LAST);
const judge = (c: KpiCheck, series: KpiSeries, entries: CalendarEntryInput[] = []): CheckResult[] =>
  judgeSeries(
    c,
    series,
    DAYS,
    seriesCalendar(parseCalendar(entries, 'calendar.json', ['dau']), 'dau', null, FIRST, LAST),
  );
const raised = (results: CheckResult[]): string[] =>
  results.filter((result) => result.raise_flag).map((result) => result.date);
const on = (results: CheckResult[], day: string): CheckResult =>
  results.find((result) => result.date === day) as CheckResult;
const width = (result: CheckResult): number => (result.band?.high as number) - (result.band?.low as number);

describe('exclude_raised_days', () => {
  const FIRST_SPIKE = '2026-11-05';
  const SECOND_SPIKE = addDays(FIRST_SPIKE, 10);
  const spikes = { [FIRST_SPIKE]: 1.5, [SECOND_SPIKE]: 1.5 };

  test.each([
    ['zscore', false],
    ['weekday', true],
  ] as const)(
    '%s: two equal spikes ten days apart both raise, as they did before (weekly rhythm: %s)',
    (method, weekly) => {
      const series = history({ weekly, noise: 0.03, factors: spikes });
      expect(raised(judge(check(method), series))).toEqual([FIRST_SPIKE, SECOND_SPIKE]);
      // Not missed before either: an equal spike in a window of n days scores about sqrt(n) > 3
      // standard deviations, and weekday's robust median of the same weekday ignores one odd week.
      expect(raised(judge(check(method, { exclude_raised_days: false }), series))).toEqual([FIRST_SPIKE, SECOND_SPIKE]);
    },
  );

  test('zscore: a smaller incident ten days after a big spike raises; before, the spike had widened the band and it was missed', () => {
    const series = history({ noise: 0.03, factors: { [FIRST_SPIKE]: 1.6, [SECOND_SPIKE]: 1.2 } });
    expect(raised(judge(check('zscore'), series))).toEqual([FIRST_SPIKE, SECOND_SPIKE]);
    const before = judge(check('zscore', { exclude_raised_days: false }), series);
    expect(raised(before)).toEqual([FIRST_SPIKE]);
    expect(on(before, SECOND_SPIKE).verdict).toBe('ok');
  });

  test('zscore: the band after a spike is the band before it, and the one computed without the spike day', () => {
    const c = check('zscore');
    const series = history({ noise: 0.03, factors: { [FIRST_SPIKE]: 1.5 } });
    const results = judge(c, series);
    const before = on(results, FIRST_SPIKE);
    for (const day of daysBetween(addDays(FIRST_SPIKE, 1), LAST)) {
      const after = on(results, day);
      // The window moved by the days between: about the same spread, where the spike would double it.
      expect(Math.abs(width(after) - width(before)) / width(before)).toBeLessThan(0.25);
      // Exactly the mean and deviation of the window without the spike day.
      const values = daysBetween(addDays(day, -c.training_days), addDays(day, -1))
        .filter((d) => d !== FIRST_SPIKE)
        .map((d) => series.points.get(d)?.value as number);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
      expect(after.band?.high).toBeCloseTo(mean + c.sensitivity * sd, 3);
      expect(after.band?.low).toBeCloseTo(mean - c.sensitivity * sd, 3);
    }
    const kept = judge(check('zscore', { exclude_raised_days: false }), series);
    expect(width(on(kept, addDays(FIRST_SPIKE, 1)))).toBeGreaterThan(2 * width(before));
  });

  test('weekday: the band a week after a spike is the band on the spike day', () => {
    const series = history({ weekly: true, noise: 0, factors: { [FIRST_SPIKE]: 1.5 } });
    const results = judge(check('weekday'), series);
    expect(on(results, addDays(FIRST_SPIKE, 7)).band).toEqual(on(results, FIRST_SPIKE).band);
  });

  test('pct_change: the day after a spike is compared with the day before it, so the return to normal does not raise', () => {
    const series = history({ noise: 0.03, factors: { [FIRST_SPIKE]: 1.5 } });
    expect(raised(judge(check('pct_change'), series))).toEqual([FIRST_SPIKE]);
    expect(raised(judge(check('pct_change', { exclude_raised_days: false }), series))).toEqual([
      FIRST_SPIKE,
      addDays(FIRST_SPIKE, 1),
    ]);
  });

  test('a raised level the next day holds stays in the baseline, which follows the shift as before: one run of raised days, not one that never ends', () => {
    const shiftDay = '2026-10-20';
    const series = history({ noise: 0.03, shift: { from: shiftDay, factor: 1.6 } });
    const results = judge(check('zscore'), series);
    const days = raised(results);
    expect(days[0]).toBe(shiftDay);
    expect(days).toEqual(daysBetween(shiftDay, days.at(-1) as string));
    expect(days.length).toBeLessThan(7);
    // As it was without exclusion: the shift's days train the baseline.
    expect(days).toEqual(raised(judge(check('zscore', { exclude_raised_days: false }), series)));
    expect(on(results, addDays(shiftDay, 20)).verdict).toBe('ok');
  });
});

/** A history on generated terms: level, noise, weekly rhythm, seed. */
const historyArb = fc.record({
  level: fc.integer({ min: 200, max: 100_000 }),
  noise: fc.double({ min: 0, max: 0.03, noNaN: true }),
  weekly: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});
const methodArb = fc.constantFrom(...METHODS);
const dayIn = (from: string, to: string) =>
  fc.integer({ min: 0, max: daysBetween(from, to).length - 1 }).map((offset) => addDays(from, offset));
/** The method's data shape: weekday on a weekly rhythm, the others on a flat one (as the shipped config pairs them). */
const fits = (method: Method, weekly: boolean) => (method === 'weekday' ? weekly : !weekly) || method === 'weekday';

describe('on generated histories', () => {
  test('a one_off entry never lets its days move a baseline: any values on its days leave every other day as it was', () => {
    fc.assert(
      fc.property(
        historyArb,
        methodArb,
        fc.uniqueArray(dayIn('2026-08-01', LAST), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 12, maxLength: 12 }),
        fc.boolean(),
        (options, method, offDays, factors, exclude) => {
          const c = check(method, { exclude_raised_days: exclude });
          const entries: CalendarEntryInput[] = offDays.map((date) => ({
            date,
            checks: ['dau'],
            kind: 'one_off',
            note: 'campaign',
          }));
          const plain = judge(c, history(options), entries);
          const moved = judge(
            c,
            history({ ...options, factors: Object.fromEntries(offDays.map((day, i) => [day, factors[i] as number])) }),
            entries,
          );
          const baseline = (results: CheckResult[]) =>
            results
              .filter((result) => !offDays.includes(result.date))
              .map(({ date, verdict, previous_metric, band }) => ({ date, verdict, previous_metric, band }));
          expect(baseline(moved)).toEqual(baseline(plain));
          // And whatever those days are, none of them is sent.
          expect(moved.filter((result) => offDays.includes(result.date) && result.raise_flag)).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });

  test('a lasting level shift raises once without an entry (one run of days from its day, one incident; one day for pct_change), and never with a new_normal entry on it', () => {
    fc.assert(
      fc.property(
        historyArb,
        methodArb,
        dayIn('2026-09-20', '2026-10-25'),
        fc.oneof(fc.double({ min: 1.5, max: 4, noNaN: true }), fc.double({ min: 0.2, max: 0.6, noNaN: true })),
        (options, method, shiftDay, factor) => {
          fc.pre(fits(method, options.weekly));
          const c = check(method);
          const series = history({ ...options, shift: { from: shiftDay, factor } });
          const days = raised(judge(c, series));
          expect(days[0]).toBe(shiftDay);
          expect(days).toEqual(daysBetween(shiftDay, days.at(-1) as string));
          if (method === 'pct_change') expect(days).toEqual([shiftDay]);
          const named = judge(c, series, [
            { date: shiftDay, checks: ['dau'], kind: 'new_normal', note: 'price change' },
          ]);
          expect(raised(named)).toEqual([]);
          expect(on(named, shiftDay).verdict).toBe('no_verdict');
        },
      ),
      { numRuns: 40 },
    );
  });
});
