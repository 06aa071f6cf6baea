/** `kpis calendar add|list|remove`: the calendar of known events, edited without writing JSON by hand. */
import { existsSync } from 'node:fs';
import {
  CALENDAR_KINDS,
  parseCalendar,
  readCalendarFile,
  writeCalendarFile,
  type CalendarEntryInput,
  type CalendarKind,
} from '../../shared/config/calendar';
import { loadKpiChecks } from '../../shared/config/kpi-checks';
import { parseIsoDate } from '../../shared/dates';
import { UsageError } from '../../shared/errors';
import { printJson, table, type Command, type Values } from '../command';
import { namingSettingFiles } from '../../shared/config/validate';
import { cliSettings, type Io } from '../context';
import { listFlag } from '../options';

const ACTIONS = ['add', 'list', 'remove'] as const;

export const calendarCommand: Command = {
  summary: 'list, add or remove the known events the KPI monitor mutes or restarts its baselines on',
  usage:
    'kpis calendar list | add (--date D | --start D --end D) --checks a,b|all --kind KIND --note TEXT [--segments x,y] [--recurring yearly] | remove N',
  details: `  list               the entries, numbered, oldest first (--json: the file's entries)
  add                one entry, checked with the rest against the KPI config before it is written
    --date D | --start D --end D   the days, in the config's time_zone (both ends included)
    --checks a,b | all             the checks it applies to
    --kind one_off|new_normal      one_off: left out of every baseline, a raise on it is muted;
                                   new_normal: the baseline starts again on its first day
    --note TEXT                    why; said with every muted result and drawn on the report
    --segments x,y                 only these segments of the checks
    --recurring yearly             a one_off that comes back every year (a holiday)
  remove N           the entry numbered N by list
  --calendar FILE    the calendar (default config/calendar.json, or $KPIS_CALENDAR)
  --kpis-config FILE the checks the entries must name (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
The file is rewritten as two-space JSON, entries oldest first; nothing is written when a check
fails (an unknown check, an end before its start, two new_normal entries of a check on one day).`,
  options: {
    calendar: { type: 'string' },
    'kpis-config': { type: 'string' },
    date: { type: 'string' },
    start: { type: 'string' },
    end: { type: 'string' },
    checks: { type: 'string' },
    segments: { type: 'string' },
    kind: { type: 'string' },
    note: { type: 'string' },
    recurring: { type: 'string' },
  },
  positionals: { min: 1, max: 2, name: 'add, list or remove' },
  run(values, positionals, io) {
    const [action, argument] = positionals as [string, string | undefined];
    if (!(ACTIONS as readonly string[]).includes(action))
      throw new UsageError(`the action must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
    if (action !== 'remove' && argument !== undefined)
      throw new UsageError(`unexpected argument ${JSON.stringify(argument)}`);
    const settings = cliSettings(values, io);
    const file = settings.calendar;
    const checkNames = namingSettingFiles(settings, () =>
      loadKpiChecks(settings.kpisConfig).map((check) => check.name),
    );
    // A file named for the first entry is created by add; list and remove need it to exist.
    const entries =
      action === 'add' && !existsSync(file) ? [] : namingSettingFiles(settings, () => readCalendarFile(file));
    if (action === 'list') return Promise.resolve(list(io, values, entries));
    const next = action === 'add' ? [...entries, entryFrom(values)] : withoutEntry(entries, argument);
    parseCalendar(next, file, checkNames);
    writeCalendarFile(file, next);
    io.stdout(
      `${action === 'add' ? 'Added to' : 'Removed from'} ${file}; it has ${next.length} entr${next.length === 1 ? 'y' : 'ies'}.\n`,
    );
    return Promise.resolve(0);
  },
};

function list(io: Io, values: Values, entries: CalendarEntryInput[]): number {
  const sorted = sortedEntries(entries);
  if (values.json) printJson(io, sorted);
  else if (sorted.length === 0) io.stdout('No calendar entries.\n');
  else {
    const rows = sorted.map((entry, index) => [
      String(index + 1),
      entry.date ?? `${entry.start}..${entry.end}`,
      `${entry.kind}${entry.recurring ? ', yearly' : ''}`,
      entry.checks === 'all' ? 'all' : entry.checks.join(', '),
      entry.segments?.join(', ') ?? '',
      entry.note,
    ]);
    io.stdout(`${table(['#', 'days', 'kind', 'checks', 'segments', 'note'], rows, [1, 2, 3, 4, 5])}\n`);
  }
  return 0;
}

/** The order list numbers entries in, and the file keeps. */
function sortedEntries(entries: CalendarEntryInput[]): CalendarEntryInput[] {
  return [...entries].sort((a, b) => (a.date ?? a.start ?? '').localeCompare(b.date ?? b.start ?? ''));
}

function entryFrom(values: Values): CalendarEntryInput {
  const text = (name: string): string | undefined => values[name] as string | undefined;
  requireAddFlags(text);
  const segments = listFlag(text('segments'));
  const entry: CalendarEntryInput = {
    ...dayFlags(text, ['date', 'start', 'end']),
    checks: checksFrom(text('checks')),
    ...(segments ? { segments } : {}),
    kind: kindFrom(text('kind') as string),
    note: text('note') as string,
  };
  return withRecurring(entry, text('recurring'));
}

function requireAddFlags(text: (name: string) => string | undefined): void {
  const missing = ['checks', 'kind', 'note'].filter((name) => text(name) === undefined);
  if (text('date') === undefined && text('start') === undefined) missing.unshift('date (or start and end)');
  if (missing.length > 0) throw new UsageError(`add needs --${missing.join(', --')}`);
}

/** The day flags given, as fields of the same names; a day that does not exist is said of its flag. */
function dayFlags(text: (name: string) => string | undefined, names: string[]): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = text(name);
      return value !== undefined ? [[name, parseIsoDate(value, `--${name}`)] as const] : [];
    }),
  );
}

function kindFrom(kind: string): CalendarKind {
  if (!(CALENDAR_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`--kind must be one of ${CALENDAR_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  return kind as CalendarKind;
}

function checksFrom(flag: string | undefined): CalendarEntryInput['checks'] {
  const checks = flag === 'all' ? 'all' : (listFlag(flag) ?? []);
  if (checks !== 'all' && checks.length === 0) throw new UsageError('--checks must name at least one check, or be all');
  return checks;
}

function withRecurring(entry: CalendarEntryInput, recurring: string | undefined): CalendarEntryInput {
  if (recurring === undefined) return entry;
  if (recurring !== 'yearly') throw new UsageError(`--recurring must be yearly, got ${JSON.stringify(recurring)}`);
  return { ...entry, recurring: 'yearly' };
}

function withoutEntry(entries: CalendarEntryInput[], argument: string | undefined): CalendarEntryInput[] {
  const sorted = sortedEntries(entries);
  if (argument === undefined || !/^\d+$/.test(argument) || Number(argument) < 1 || Number(argument) > sorted.length) {
    throw new UsageError(
      `remove takes the number of an entry as list shows it (1 to ${sorted.length}), got ${JSON.stringify(argument ?? '')}`,
    );
  }
  return sorted.filter((_entry, index) => index !== Number(argument) - 1);
}
