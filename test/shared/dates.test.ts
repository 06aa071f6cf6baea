import fc from 'fast-check';
import { addDays, daysBetween, MAX_DAYS_LISTED, MIN_DATE, parseIsoDate, resolveDateRange } from '../../shared/dates';
import { UsageError } from '../../shared/errors';

const TODAY = '2026-11-27';

describe('resolveDateRange', () => {
  test.each([
    ['no flags: yesterday and today (the scheduler default)', {}, { start: '2026-11-26', end: '2026-11-27' }],
    ['--days-back 0: today only', { daysBack: 0 }, { start: TODAY, end: TODAY }],
    ['--days-back 7: a week back to today', { daysBack: 7 }, { start: '2026-11-20', end: TODAY }],
    ['--date: one day', { date: '2026-02-28' }, { start: '2026-02-28', end: '2026-02-28' }],
    [
      '--from/--to: inclusive range across a month',
      { from: '2026-10-30', to: '2026-11-02' },
      { start: '2026-10-30', end: '2026-11-02' },
    ],
  ])('%s', (_name, request, expected) => {
    expect(resolveDateRange(request, TODAY)).toEqual(expected);
  });

  test.each([
    ['an impossible day', { date: '2026-02-30' }, '--date must be a calendar day as YYYY-MM-DD, got "2026-02-30"'],
    ['a non-ISO day', { date: '27/11/2026' }, '--date must be a calendar day'],
    ['from after to', { from: '2026-11-03', to: '2026-11-01' }, '--from 2026-11-03 is after --to 2026-11-01'],
    ['from without to', { from: '2026-11-03' }, '--from and --to go together'],
    ['two forms at once', { date: '2026-11-01', daysBack: 2 }, 'give only one of'],
    ['negative days back', { daysBack: -1 }, '--days-back must be a whole number'],
  ])('rejects %s', (_name, request, message) => {
    expect(() => resolveDateRange(request, TODAY)).toThrow(UsageError);
    expect(() => resolveDateRange(request, TODAY)).toThrow(message);
  });
});

test('day arithmetic crosses months, years and leap days in UTC', () => {
  expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  expect(daysBetween('2026-12-30', '2027-01-02')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
  expect(parseIsoDate('2024-02-29')).toBe('2024-02-29');
  expect(() => parseIsoDate('2026-02-29')).toThrow(UsageError);
});

describe('every date helper is total: it returns or throws a UsageError at once, for any input', () => {
  const anyDay = fc.oneof(
    fc.string(),
    fc
      .date({ min: new Date(-70_000_000_000_000), max: new Date(300_000_000_000_000), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    fc
      .tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
    fc.constantFrom('9999-12-31', '0001-01-01', '0000-01-01', '+010000-01-01', '2026-02-29', '2024-02-29'),
  );
  const totally = (fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
    }
  };

  test('parseIsoDate, addDays, daysBetween and resolveDateRange', () => {
    fc.assert(
      fc.property(anyDay, anyDay, fc.integer({ min: -5_000_000, max: 5_000_000 }), (a, b, n) => {
        totally(() => parseIsoDate(a));
        totally(() => addDays(a, n));
        totally(() => {
          const days = daysBetween(a, b);
          expect(days.length).toBeLessThanOrEqual(MAX_DAYS_LISTED);
        });
        totally(() => resolveDateRange({ date: a }, TODAY));
        totally(() => resolveDateRange({ from: a, to: b }, TODAY));
        totally(() => resolveDateRange({ daysBack: n }, TODAY));
      }),
      { numRuns: 2000 },
    );
  });

  test('a resolved range always lies between year 1 and tomorrow', () => {
    fc.assert(
      fc.property(anyDay, anyDay, (a, b) => {
        for (const request of [{ date: a }, { from: a, to: b }]) {
          let range;
          try {
            range = resolveDateRange(request, TODAY);
          } catch {
            continue;
          }
          expect(range.start >= MIN_DATE && range.end <= '2026-11-28' && range.start <= range.end).toBe(true);
        }
      }),
    );
  });

  test('the edges of the sane window', () => {
    expect(() => resolveDateRange({ date: '9999-12-31' }, TODAY)).toThrow(
      '--date 9999-12-31 is outside the days a run may cover (0001-01-01..2026-11-28, tomorrow)',
    );
    expect(resolveDateRange({ date: '2026-11-28' }, TODAY)).toEqual({ start: '2026-11-28', end: '2026-11-28' });
    expect(resolveDateRange({ from: '0001-01-01', to: '0001-01-02' }, TODAY)).toEqual({
      start: '0001-01-01',
      end: '0001-01-02',
    });
    expect(() => addDays('9999-12-31', 1)).toThrow('outside the days a warehouse can hold');
    expect(daysBetween('2026-11-02', '2026-11-01')).toEqual([]);
  });
});
