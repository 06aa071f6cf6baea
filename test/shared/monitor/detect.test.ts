import type { KpiCheck, Method } from '../../../shared/config/kpi-checks';
import { check, WEEKLY } from '../../helpers/checks';
import { addDays, daysBetween, startOfDay } from '../../../shared/dates';
import { prng } from '../../../shared/events/demo';
import { evaluate, type KpiSeries } from '../../../shared/monitor/detect';

const FIRST = '2026-08-01';
const LAST = '2026-11-26';

const checkWith = (method: Method, overrides: Partial<KpiCheck> = {}): KpiCheck => check(method, overrides);

interface HistoryOptions {
  first?: string;
  last?: string;
  level?: number;
  /** Day-to-day noise: values vary by up to ± this fraction. */
  noise?: number;
  weekly?: boolean;
  /** Days whose value is multiplied; 0 makes a day without events. */
  factors?: Record<string, number>;
  seed?: number;
}

/** A generated daily history: steady level, optional weekly rhythm, seeded noise. */
function history(options: HistoryOptions = {}): KpiSeries {
  const random = prng(options.seed ?? 7);
  const points = new Map<string, { value: number; active: boolean }>();
  for (const day of daysBetween(options.first ?? FIRST, options.last ?? LAST)) {
    const weekday = options.weekly ? (WEEKLY[startOfDay(day).getUTCDay()] as number) : 1;
    const noise = 1 + (random() * 2 - 1) * (options.noise ?? 0.03);
    const factor = options.factors?.[day] ?? 1;
    const value = Math.round((options.level ?? 5000) * weekday * noise * factor);
    if (factor === 0) continue; // no rows at all that day
    points.set(day, { value, active: true });
  }
  return { firstDay: options.first ?? FIRST, points };
}

function raisedDays(series: KpiSeries, c: KpiCheck, from = '2026-10-01', to = LAST): string[] {
  return daysBetween(from, to).filter((day) => evaluate(c, series, day).raise_flag);
}

describe('evaluate on generated histories', () => {
  const SPIKE = '2026-11-12';
  const DROP = '2026-11-19';
  const EMPTY = '2026-11-24';
  const anomalies = { [SPIKE]: 1.6, [DROP]: 0.55, [EMPTY]: 0 };

  test.each([
    ['pct_change', { weekly: false }],
    ['weekday', { weekly: true }],
    ['weekday', { weekly: false }],
    ['zscore', { weekly: false }],
  ] as const)(
    '%s with defaults stays quiet on steady data (%o) and raises on each anomaly day only',
    (method, shape) => {
      const c = check(method);
      expect(raisedDays(history({ ...shape, noise: 0.03 }), c)).toEqual([]);
      const days = raisedDays(history({ ...shape, noise: 0.03, factors: anomalies }), c);
      // pct_change also raises on the day after a spike or drop: the return to normal is a change too.
      const expected =
        method === 'pct_change' ? [SPIKE, addDays(SPIKE, 1), DROP, addDays(DROP, 1), EMPTY] : [SPIKE, DROP, EMPTY];
      expect(days).toEqual(expected);
    },
  );

  test('a weekly rhythm raises pct_change every weekend, and weekday not at all', () => {
    const series = history({ weekly: true, noise: 0.02 });
    const weekends = raisedDays(series, check('pct_change')).map((day) => startOfDay(day).getUTCDay());
    expect(weekends.length).toBeGreaterThan(8);
    expect(new Set(weekends)).toEqual(new Set([1, 6])); // up into Saturday, down into Monday
    expect(raisedDays(series, check('weekday'))).toEqual([]);
  });

  test('the weekday baseline is the median of the same weekday, so an earlier anomaly does not move it', () => {
    const series = history({ weekly: true, noise: 0, factors: { '2026-11-05': 3 } }); // a Thursday
    const result = evaluate(check('weekday'), series, '2026-11-12');
    expect(result).toMatchObject({ verdict: 'ok', metric: 5000, previous_metric: 5000, change: 0 });
    expect(result.message).toContain('median of 4 earlier Thursdays');
  });

  test('with two earlier weeks, one odd week does not pull the baseline halfway', () => {
    // 2026-08-13 is the history's second Thursday; on 08-20 the baseline has 08-06 and 08-13 only.
    const series = history({ noise: 0, factors: { '2026-08-13': 2 } });
    expect(evaluate(check('weekday'), series, '2026-08-20')).toMatchObject({ verdict: 'ok', previous_metric: 5000 });
    const spiked = history({ noise: 0, factors: { '2026-08-13': 2, '2026-08-20': 3 } });
    expect(evaluate(check('weekday'), spiked, '2026-08-20')).toMatchObject({
      verdict: 'raised',
      previous_metric: 10000,
    });
  });

  test('a spike and a drop carry their change, baseline and threshold', () => {
    const series = history({ noise: 0, factors: { [SPIKE]: 1.5, [DROP]: 0.5 } });
    expect(evaluate(check('weekday'), series, SPIKE)).toMatchObject({
      check: 'dau',
      date: SPIKE,
      metric: 7500,
      previous_metric: 5000,
      change: 0.5,
      raise_flag: true,
      verdict: 'raised',
      method: 'weekday',
      threshold: 0.1,
      severity: 'warn',
      table: 'daily_kpis.daily_user_panel',
    });
    expect(evaluate(check('weekday'), series, SPIKE).message).toBe(
      'dau on 2026-11-12: 7,500 against 5,000 (median of 4 earlier Thursdays), +50.0% against ±10.0% (spike)',
    );
    expect(evaluate(check('pct_change'), series, DROP)).toMatchObject({
      metric: 2500,
      previous_metric: 5000,
      change: -0.5,
      raise_flag: true,
    });
  });

  test.each([
    ['spike', 1.5, true],
    ['spike', 0.5, false],
    ['drop', 1.5, false],
    ['drop', 0.5, true],
    ['both', 0.5, true],
  ] as const)('direction %s with a factor of %d raises: %s', (direction, factor, raised) => {
    const series = history({ noise: 0.02, factors: { [SPIKE]: factor } });
    expect(evaluate(check('weekday', { direction }), series, SPIKE).raise_flag).toBe(raised);
  });

  test('severity comes from the config', () => {
    const series = history({ noise: 0, factors: { [SPIKE]: 2 } });
    expect(evaluate(check('zscore', { severity: 'error' }), series, SPIKE)).toMatchObject({
      raise_flag: true,
      severity: 'error',
    });
  });

  test('zscore raises beyond the sensitivity and reports the score', () => {
    const series = history({ noise: 0.03, factors: { [SPIKE]: 1.5 } });
    const result = evaluate(check('zscore'), series, SPIKE);
    expect(result.raise_flag).toBe(true);
    expect(result.score).toBeGreaterThan(3);
    expect(result.threshold).toBe(3);
    expect(evaluate(check('zscore', { sensitivity: 1000 }), series, SPIKE).raise_flag).toBe(false);
  });

  test('the zscore training window excludes the day being checked', () => {
    // If the day were in its own window, a huge value would inflate the deviation and hide itself.
    const series = history({ noise: 0.01, factors: { [SPIKE]: 100 } });
    const result = evaluate(check('zscore', { training_days: 3, min_training_days: 2 }), series, SPIKE);
    expect(result.previous_metric).toBeLessThan(5100);
    expect(result.raise_flag).toBe(true);
  });
});

describe('guards', () => {
  test('a day with no events raises for every method and direction, as an error', () => {
    const series = history({ factors: { '2026-11-20': 0 } });
    for (const method of ['pct_change', 'weekday', 'zscore'] as const) {
      for (const direction of ['both', 'spike', 'drop'] as const) {
        const result = evaluate(check(method, { direction, name: 'installs' }), series, '2026-11-20');
        expect(result).toMatchObject({ raise_flag: true, metric: 0, severity: 'error' });
        expect(result.message).toContain('no events at all');
      }
    }
  });

  test("installs on the 3 days after an empty day give no verdict: they hold the lost day's new users", () => {
    const series = history({
      noise: 0,
      factors: { '2026-11-20': 0, '2026-11-21': 1.5, '2026-11-23': 1.3, '2026-11-24': 1.3 },
    });
    const installs = check('weekday', { name: 'installs', metric: 'installs', table_id: 'installs', first_seen: true });
    const result = evaluate(installs, series, '2026-11-21');
    expect(result).toMatchObject({ verdict: 'no_verdict', metric: 7500 });
    expect(result.message).toBe(
      "installs on 2026-11-21: 2026-11-20 had no events, so this day's installs include users first seen late: no verdict",
    );
    expect(evaluate(installs, series, '2026-11-23').verdict).toBe('no_verdict');
    expect(evaluate(installs, series, '2026-11-24').verdict).toBe('raised'); // four days on, a change is a change again
    expect(evaluate(check('weekday'), series, '2026-11-21').verdict).toBe('raised'); // dau has no such excuse
  });

  test('the day after an empty day compares with the last day that had data, and stays quiet', () => {
    const series = history({ noise: 0, factors: { '2026-11-20': 0 } });
    const result = evaluate(check('pct_change'), series, '2026-11-21');
    expect(result).toMatchObject({ raise_flag: false, previous_metric: 5000 });
    expect(result.message).toContain('2026-11-19, the last earlier day with data');
    // Empty days are left out of the zscore window too: a 0 would widen it and hide a real spike.
    const spiked = history({ noise: 0.01, factors: { '2026-11-20': 0, '2026-11-22': 1.3 } });
    expect(evaluate(check('zscore'), spiked, '2026-11-22').raise_flag).toBe(true);
  });

  test('a single data point gives no verdict', () => {
    const series = history({ first: LAST, last: LAST, noise: 0 });
    for (const method of ['pct_change', 'weekday', 'zscore'] as const) {
      const result = evaluate(check(method, { warm_up_days: 0 }), series, LAST);
      expect(result).toMatchObject({ raise_flag: false, verdict: 'no_verdict', metric: 5000 });
      expect(result.message).toContain('no earlier day with data');
    }
  });

  test('too little history gives no verdict and says so', () => {
    const series = history({ first: '2026-11-20', factors: { [LAST]: 3 } });
    const result = evaluate(check('weekday', { warm_up_days: 0 }), series, LAST);
    expect(result).toMatchObject({ raise_flag: false, verdict: 'no_verdict' });
    expect(result.message).toBe(
      'dau on 2026-11-26: only 6 earlier day(s) with data in the last 28; weekday needs 14 (too little history, no verdict)',
    );
    expect(evaluate(check('weekday', { min_training_days: 5, warm_up_days: 0 }), series, LAST).message).toContain(
      'no earlier Thursday',
    );
    expect(evaluate(check('pct_change', { warm_up_days: 0 }), series, LAST).raise_flag).toBe(true);
  });

  test('a day before the first data gives no verdict; no data in the whole window raises', () => {
    expect(evaluate(check('weekday'), history(), '2026-07-01')).toMatchObject({ verdict: 'no_verdict', metric: null });
    const empty = evaluate(check('weekday'), { firstDay: null, points: new Map() }, LAST);
    expect(empty).toMatchObject({ verdict: 'raised', metric: 0, severity: 'error' });
    expect(empty.message).toBe('dau on 2026-11-26: no events at all on this day, nor on any of the 28 days before it');
  });

  test('a previous value of 0 has no relative change: a rise raises as a spike, 0 again is fine', () => {
    const points = new Map([
      ['2026-11-24', { value: 0, active: true }],
      ['2026-11-25', { value: 0, active: true }],
      ['2026-11-26', { value: 40, active: true }],
    ]);
    const series = { firstDay: '2026-11-24', points };
    const check = (method: Method, overrides: Partial<KpiCheck> = {}) =>
      checkWith(method, { warm_up_days: 0, ...overrides });
    expect(evaluate(check('pct_change'), series, '2026-11-25')).toMatchObject({
      raise_flag: false,
      change: null,
      previous_metric: 0,
    });
    const rise = evaluate(check('pct_change'), series, '2026-11-26');
    expect(rise).toMatchObject({ raise_flag: true, change: null, previous_metric: 0, metric: 40 });
    expect(rise.message).toContain('rose from 0');
    expect(evaluate(check('pct_change', { direction: 'drop' }), series, '2026-11-26').raise_flag).toBe(false);
    expect(evaluate(check('pct_change', { min_value: 50 }), series, '2026-11-26').raise_flag).toBe(false);
  });

  test('the first days of data are warm-up: no verdict on them, and no part of a later baseline', () => {
    // Installs as the ETL sees them when a history starts: every regular user is "new" at first.
    const series = history({
      noise: 0,
      first: '2026-10-01',
      factors: { '2026-10-01': 10, '2026-10-02': 3, '2026-10-03': 2 },
    });
    const early = evaluate(check('pct_change', { warm_up_days: 7 }), series, '2026-10-02');
    expect(early).toMatchObject({ verdict: 'no_verdict', metric: 15000 });
    expect(early.message).toContain('in the first 7 days of data (warm-up, from 2026-10-01)');
    expect(evaluate(check('pct_change'), series, '2026-10-01').message).toContain(
      'in the first day of data (warm-up, from 2026-10-01)',
    );
    // By default only the first day is left out, so the next day already has a verdict.
    expect(evaluate(check('pct_change'), series, '2026-10-03')).toMatchObject({
      verdict: 'raised',
      previous_metric: 15000,
    });
    // 2026-10-29 is a Thursday; 2026-10-01 is one too, and would pull the median up.
    expect(evaluate(check('weekday', { warm_up_days: 7 }), series, '2026-10-29')).toMatchObject({
      verdict: 'ok',
      previous_metric: 5000,
    });
    expect(evaluate(check('zscore', { warm_up_days: 7 }), series, '2026-10-29').previous_metric).toBe(5000);
  });

  test('zero variance: the same value is fine, any other raises', () => {
    const flat = history({ noise: 0, factors: { [LAST]: 1.01 } });
    expect(evaluate(check('zscore'), flat, '2026-11-25')).toMatchObject({ raise_flag: false, score: null });
    const result = evaluate(check('zscore'), flat, LAST);
    expect(result).toMatchObject({ raise_flag: true, score: null, metric: 5050, previous_metric: 5000 });
    expect(result.message).toContain('the history is constant');
    expect(evaluate(check('zscore', { direction: 'drop' }), flat, LAST).raise_flag).toBe(false);
  });

  test('min_value ignores changes below an absolute floor', () => {
    const small = history({ level: 20, noise: 0, factors: { [LAST]: 1.5 } });
    expect(evaluate(check('weekday'), small, LAST).raise_flag).toBe(true);
    const result = evaluate(check('weekday', { min_value: 15 }), small, LAST);
    expect(result.raise_flag).toBe(false);
    expect(result.message).toContain('below the floor of 15');
  });
});

describe('ratio checks (numerator / denominator) with min_denominator', () => {
  /** A daily ratio: `numerator(day)` of `denominator(day)`, every day from FIRST to LAST. */
  function ratios(numerator: (day: string) => number, denominator: (day: string) => number): KpiSeries {
    const points = new Map(
      daysBetween(FIRST, LAST).map((day) => {
        const [n, d] = [numerator(day), denominator(day)];
        return [day, { value: d === 0 ? 0 : n / d, active: true, ratio: { numerator: n, denominator: d } }];
      }),
    );
    return { firstDay: FIRST, points };
  }
  const retention = checkWith('pct_change', { name: 'd1_retention', thresh_in_percent: 0.2, min_denominator: 50 });

  test('a small cohort (12 users) gives no verdict, however far its rate moves', () => {
    const series = ratios(
      (day) => (day === LAST ? 1 : 40),
      (day) => (day === LAST ? 12 : 100),
    );
    const result = evaluate(retention, series, LAST);
    expect(result).toMatchObject({ verdict: 'no_verdict', raise_flag: false, metric: 1 / 12 });
    expect(result.message).toContain('0.0833 (1 / 12): a denominator below min_denominator (50), no verdict');
  });

  test('the same fall on a cohort of 100 raises, and the message shows numerator and denominator', () => {
    const series = ratios(
      (day) => (day === LAST ? 20 : 40),
      () => 100,
    );
    const result = evaluate(retention, series, LAST);
    expect(result).toMatchObject({ verdict: 'raised', metric: 0.2, previous_metric: 0.4, change: -0.5 });
    expect(result.message).toContain('0.2 (20 / 100) against 0.4 (the day before), -50.0% against ±20.0% (drop)');
  });

  test('days below min_denominator are left out of the baseline: the last large cohort is the one compared with', () => {
    const yesterday = addDays(LAST, -1);
    const series = ratios(
      (day) => (day === yesterday ? 1 : day === LAST ? 41 : 40),
      (day) => (day === yesterday ? 10 : 100),
    );
    const result = evaluate(retention, series, LAST);
    expect(result).toMatchObject({ verdict: 'ok', previous_metric: 0.4 });
    expect(result.message).toContain(`(${addDays(LAST, -2)}, the last earlier day with data)`);
  });

  test('without min_denominator a ratio is judged like any value', () => {
    const series = ratios(
      (day) => (day === LAST ? 1 : 40),
      (day) => (day === LAST ? 12 : 100),
    );
    expect(evaluate({ ...retention, min_denominator: 0 }, series, LAST)).toMatchObject({
      verdict: 'raised',
      metric: 1 / 12,
    });
  });
});
