/** config/calendar.json: what loads, what is refused and how it is said, and what an entry means for a series. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_CALENDAR,
  loadCalendar,
  loadMonitorChecks,
  occurrences,
  parseCalendar,
  readCalendarFile,
  restartOn,
  seriesCalendar,
  type CalendarEntryInput,
} from '../../../shared/config/calendar';
import { DEFAULT_KPIS_CONFIG, loadKpiChecks } from '../../../shared/config/kpi-checks';
import { InvalidConfigError } from '../../../shared/errors';
import { silentLogger } from '../../../shared/log';
import { createFunctionRuntime } from '../../../shared/pipeline/function-runtime';
import { parseSettings } from '../../../shared/settings';
import { tempDir } from '../../helpers/history';

const CHECKS = ['dau', 'installs', 'events'];
const entry = (fields: Partial<CalendarEntryInput>): CalendarEntryInput => ({
  date: '2026-11-27',
  checks: ['dau'],
  kind: 'one_off',
  note: 'campaign',
  ...fields,
});

describe('loading', () => {
  test('the shipped calendar loads against the shipped checks, and every check gets the entries that name it', () => {
    const names = loadKpiChecks().map((check) => check.name);
    expect(loadCalendar(DEFAULT_CALENDAR, names).length).toBeGreaterThan(0);
    const checks = loadMonitorChecks(DEFAULT_KPIS_CONFIG, DEFAULT_CALENDAR);
    expect(checks.every((check) => (check.calendar ?? []).length > 0)).toBe(true);
  });

  test('the path: --calendar, else $KPIS_CALENDAR (empty is unset), else config/calendar.json', () => {
    expect(parseSettings({ calendar: 'mine.json' }, { KPIS_CALENDAR: 'env.json' }).calendar).toBe('mine.json');
    expect(parseSettings({}, { KPIS_CALENDAR: 'env.json' }).calendar).toBe('env.json');
    expect(parseSettings({}, { KPIS_CALENDAR: '' }).calendar).toBe(DEFAULT_CALENDAR);
  });

  test('the kpi-monitor function loads the calendar $KPIS_CALENDAR names with its checks', async () => {
    const file = path.join(tempDir(), 'calendar.json');
    writeFileSync(file, JSON.stringify({ entries: [entry({ checks: ['dau'] })] }));
    const runtime = createFunctionRuntime({
      env: { KPIS_CALENDAR: file },
      logger: silentLogger,
      openPorts: () => Promise.reject(new Error('not opened')),
    });
    const checks = await runtime.configs.kpiChecks();
    expect(checks.find((check) => check.name === 'dau')?.calendar).toEqual([
      expect.objectContaining({ start: '2026-11-27', kind: 'one_off', note: 'campaign' }),
    ]);
    expect(checks.find((check) => check.name === 'installs')?.calendar).toEqual([]);
  });

  test('a named file that is missing is an error; invalid JSON names the file', () => {
    const dir = tempDir();
    expect(() => loadCalendar(path.join(dir, 'nope.json'), CHECKS)).toThrow(
      'nope.json: cannot read config file (ENOENT)',
    );
    writeFileSync(path.join(dir, 'bad.json'), '{"entries": [');
    expect(() => readCalendarFile(path.join(dir, 'bad.json'))).toThrow('bad.json: not valid JSON');
  });

  test.each([
    [
      [entry({ checks: ['dau', 'retention_d99'] })],
      '$.entries[0].checks: no check named "retention_d99"; the KPI config has dau, installs, events',
    ],
    [
      [entry({ date: undefined, start: '2026-11-27', end: '2026-11-20' })],
      '$.entries[0].end: 2026-11-20 is before start 2026-11-27',
    ],
    [
      [
        entry({ kind: 'new_normal', date: undefined, start: '2026-11-01', end: '2026-11-30' }),
        entry({ kind: 'new_normal', date: '2026-11-15', checks: 'all' }),
      ],
      '$.entries[1]: new_normal 2026-11-15..2026-11-15 overlaps $.entries[0] (2026-11-01..2026-11-30) for dau',
    ],
    [
      [entry({ kind: 'new_normal', recurring: 'yearly' })],
      '$.entries[0].recurring: a new_normal happens once; recurring is for one_off entries (holidays)',
    ],
    [[entry({ date: '2026-02-30' })], '$.entries[0].date: must be a day, YYYY-MM-DD, got 2026-02-30'],
    [
      [entry({ start: '2026-11-01', end: '2026-11-02' })],
      '$.entries[0]: must give either date (one day) or start and end, not both',
    ],
    [
      [entry({ date: undefined, start: '2026-11-01' })],
      '$.entries[0]: must give start and end together (or date for one day)',
    ],
    [[entry({ kind: 'holiday' as never })], '$.entries[0].kind: must be one of one_off, new_normal, got holiday'],
    [[entry({ checks: 'most' as never })], '$.entries[0].checks: must be "all" or a list of check names, got most'],
    [[{ ...entry({}), note: undefined as never }], '$.entries[0].note: is required'],
  ])('refused, with where and why: %j', (entries, message) => {
    expect(() => parseCalendar(entries, 'calendar.json', CHECKS)).toThrow(message);
  });

  test("the calendar's own problems are fields of one error, under the calendar's header", () => {
    const entries = [entry({ date: undefined, start: '2026-11-27', end: '2026-11-20' }), entry({ checks: ['nope'] })];
    let thrown: unknown;
    try {
      parseCalendar(entries, 'calendar.json', CHECKS);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidConfigError);
    expect(thrown).toMatchObject({
      file: 'calendar.json',
      problems: [{ path: '$.entries[0].end' }, { path: '$.entries[1].checks' }],
    });
    expect((thrown as Error).message.split('\n')[0]).toBe('calendar.json: invalid calendar');
  });

  test('new_normal entries of one check on different days, or of different segments, are fine', () => {
    expect(() =>
      parseCalendar(
        [
          entry({ kind: 'new_normal', date: '2026-10-01' }),
          entry({ kind: 'new_normal', date: '2026-11-01' }),
          entry({ kind: 'new_normal', date: '2026-12-01', segments: ['IOS'] }),
          entry({ kind: 'new_normal', date: '2026-12-01', segments: ['ANDROID'] }),
        ],
        'calendar.json',
        CHECKS,
      ),
    ).not.toThrow();
  });
});

describe('what an entry means for a series', () => {
  const load = (entries: CalendarEntryInput[]) => parseCalendar(entries, 'calendar.json', CHECKS);

  test('one_off days of a span, for the checks and segments it names only', () => {
    const entries = load([
      entry({ date: undefined, start: '2026-11-26', end: '2026-11-28', checks: ['dau'], segments: ['IOS'] }),
    ]);
    expect([...seriesCalendar(entries, 'dau', 'IOS', '2026-11-01', '2026-11-30').oneOff.keys()]).toEqual([
      '2026-11-26',
      '2026-11-27',
      '2026-11-28',
    ]);
    expect(seriesCalendar(entries, 'dau', 'ANDROID', '2026-11-01', '2026-11-30').oneOff.size).toBe(0);
    expect(seriesCalendar(entries, 'dau', null, '2026-11-01', '2026-11-30').oneOff.size).toBe(0);
    expect(seriesCalendar(entries, 'installs', 'IOS', '2026-11-01', '2026-11-30').oneOff.size).toBe(0);
  });

  test('a yearly entry comes back every year from its own, across a new year, and a 29 February only in leap years', () => {
    expect(
      occurrences({ start: '2025-12-31', end: '2026-01-01', recurring: true }, '2027-01-01', '2028-12-31'),
    ).toEqual([
      { start: '2026-12-31', end: '2027-01-01' },
      { start: '2027-12-31', end: '2028-01-01' },
      { start: '2028-12-31', end: '2029-01-01' },
    ]);
    expect(
      occurrences({ start: '2024-02-29', end: '2024-02-29', recurring: true }, '2025-01-01', '2028-12-31'),
    ).toEqual([{ start: '2028-02-29', end: '2028-02-29' }]);
    expect(
      occurrences({ start: '2027-01-01', end: '2027-01-01', recurring: true }, '2026-01-01', '2026-12-31'),
    ).toEqual([]);
  });

  test('a new_normal restarts on its day; a temporary one again on the day after its end', () => {
    const calendar = seriesCalendar(
      load([
        entry({ kind: 'new_normal', date: '2026-10-01', note: 'price' }),
        entry({ kind: 'new_normal', date: undefined, start: '2026-11-01', end: '2026-11-07', note: 'sale' }),
      ]),
      'dau',
      null,
      '2026-01-01',
      '2026-12-31',
    );
    expect(restartOn(calendar, '2026-09-30')).toBeNull();
    expect(restartOn(calendar, '2026-10-15')).toEqual({ day: '2026-10-01', note: 'price' });
    expect(restartOn(calendar, '2026-11-03')).toEqual({ day: '2026-11-01', note: 'sale' });
    expect(restartOn(calendar, '2026-11-20')).toEqual({ day: '2026-11-08', note: 'after sale' });
  });
});
