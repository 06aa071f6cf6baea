/** Reading back what a run's log rows say: the days a run wrote again, from its restate rows. */
import { restatedDaysOf } from '../../../shared/etl/run-log';

test("the restated days are read from the restate rows' messages, oldest first and once each, whatever else the rows say", () => {
  const messages = [
    'restated 2026-11-22: its source changed since it was built (4:100 -> 5:130)',
    'restated 2026-11-20: daily_engagement only: it reads days before it (reads_days_before, or a keep_* table), and 2026-11-19 was restated',
    'restated 2026-11-22: daily_sessions only: it reads days after it (reads_days_after), and 2026-11-23 was restated',
    'a message naming 2026-11-01 elsewhere: restated 2026-11-02: not at the start of a line',
  ].join('\n');
  expect(restatedDaysOf(messages)).toEqual(['2026-11-20', '2026-11-22']);
  expect(restatedDaysOf(null)).toEqual([]);
  expect(restatedDaysOf('')).toEqual([]);
});
