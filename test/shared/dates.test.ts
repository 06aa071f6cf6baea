import { addDays, daysBetween, parseIsoDate, resolveDateRange } from '../../shared/dates';
import { UsageError } from '../../shared/errors';

const TODAY = '2026-11-27';

describe('resolveDateRange', () => {
  test.each([
    ['no flags: yesterday and today (the scheduler default)', {}, { start: '2026-11-26', end: '2026-11-27' }],
    ['--days-back 0: today only', { daysBack: 0 }, { start: TODAY, end: TODAY }],
    ['--days-back 7: a week back to today', { daysBack: 7 }, { start: '2026-11-20', end: TODAY }],
    ['--date: one day', { date: '2026-02-28' }, { start: '2026-02-28', end: '2026-02-28' }],
    ['--from/--to: inclusive range across a month', { from: '2026-10-30', to: '2026-11-02' }, { start: '2026-10-30', end: '2026-11-02' }],
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
