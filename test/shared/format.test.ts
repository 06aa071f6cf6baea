/** How numbers read: a change reads the same in the monitor's message and in every table that shows it. */
import fc from 'fast-check';
import { formatChange, formatNumber, formatPercent } from '../../shared/format';
import { evaluate } from '../../shared/monitor/detect';
import { check } from '../helpers/checks';

test('a percentage rounds halves away from zero on the decimal value (toFixed rounds the binary one: 1.9685 read 196.8%)', () => {
  expect(formatChange(1.9685)).toBe('+196.9%');
  expect(formatChange(1.968503)).toBe('+196.9%');
  expect(formatChange(-0.2035)).toBe('-20.4%');
  expect(formatPercent(0.1)).toBe('10.0%');
  expect(formatPercent(0)).toBe('0.0%');
  expect(formatChange(0.25)).toBe('+25.0%');
});

test("the monitor's message gives the change as its result stores it, so the message and the tables read alike", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (before, now) => {
      fc.pre(before !== now); // an unchanged day's message says "no change"
      const points = new Map([
        ['2026-11-25', { value: before, active: true }],
        ['2026-11-26', { value: now, active: true }],
      ]);
      const result = evaluate(
        check('pct_change', { warm_up_days: 0, min_training_days: 1, min_value: 0 }),
        { firstDay: '2026-11-25', points },
        '2026-11-26',
      );
      expect(result.change).not.toBeNull();
      expect(result.message).toContain(formatChange(result.change as number));
    }),
  );
});

test('a number keeps one decimal and thousands separators, a fraction under 10 three significant digits (a rate of 0.0833 read 0.1)', () => {
  expect(formatNumber(null)).toBe('-');
  expect(formatNumber(180_000)).toBe('180,000');
  expect(formatNumber(1234.56)).toBe('1,234.6');
  expect(formatNumber(12.34)).toBe('12.3');
  expect(formatNumber(3.2432)).toBe('3.24');
  expect(formatNumber(0.0833)).toBe('0.0833');
  expect(formatNumber(-0.2514)).toBe('-0.251');
  expect(formatNumber(7)).toBe('7');
  expect(formatNumber(0)).toBe('0');
});
