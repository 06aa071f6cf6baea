import { InvalidMessageError } from '../../../shared/errors';
import { parseTrigger } from '../../../shared/pipeline/contracts';

const TODAY = '2026-11-28';

describe('parseTrigger', () => {
  test('resolves each form of a trigger to its days', () => {
    expect(parseTrigger({}, TODAY, 400).range).toEqual({ start: '2026-11-27', end: '2026-11-28' });
    expect(parseTrigger({ date: '2026-11-20' }, TODAY, 400).range).toEqual({ start: '2026-11-20', end: '2026-11-20' });
    expect(parseTrigger({ days_back: 3 }, TODAY, 400).range).toEqual({ start: '2026-11-25', end: '2026-11-28' });
    expect(parseTrigger({ start_date: '2026-11-01', end_date: '2026-11-03', dry_run: true }, TODAY, 400)).toEqual({
      range: { start: '2026-11-01', end: '2026-11-03' },
      kpis: undefined,
      dryRun: true,
    });
  });

  // The range rules are the CLI's; their errors must name the message's keys, never the CLI's flags.
  test.each([
    [
      'a start after its end',
      { start_date: '2026-11-05', end_date: '2026-11-01' },
      'trigger: start_date 2026-11-05 is after end_date 2026-11-01',
    ],
    [
      'a day past tomorrow',
      { date: '2027-01-01' },
      'trigger: date 2027-01-01 is outside the days a run may cover (0001-01-01..2026-11-29, tomorrow)',
    ],
    [
      'an end past tomorrow',
      { start_date: '2026-11-01', end_date: '2026-12-25' },
      'trigger: end_date 2026-12-25 is outside the days a run may cover',
    ],
    [
      'a range over the limit',
      { start_date: '2026-01-01', end_date: '2026-11-01' },
      'trigger: 2026-01-01..2026-11-01 is 305 days, more than the 31 a run may cover',
    ],
  ])('refuses %s, in the words of the message', (_name, message, expected) => {
    const parse = () => parseTrigger(message, TODAY, 31);
    expect(parse).toThrow(InvalidMessageError);
    expect(parse).toThrow(expected);
    try {
      parse();
    } catch (error) {
      expect((error as Error).message).not.toMatch(/--(date|days-back|from|to)\b/);
    }
  });
});
