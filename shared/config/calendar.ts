/**
 * The calendar of known events (config/calendar.json): days the KPI monitor must not learn from or
 * alert on, reviewed like code.
 *
 * - `one_off` (a campaign, a holiday, a known outage): its days are left out of every baseline and
 *   training window, and a check that raises on one is recorded as muted, with the note, not sent.
 * - `new_normal` (a price change, a new platform, a tracking change): from its first day the
 *   check's baseline starts again (only days on or after it train it; warm-up applies again). With
 *   an `end`, the change is temporary: the baseline starts again the day after it.
 *
 * The load checks what a reader cannot: every named check exists, no entry ends before it starts,
 * and no two new_normal entries of one check (and segment) cover the same day.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Joi from 'joi';
import { addDays, startOfDay, type IsoDate } from '../dates';
import { InvalidConfigError, type ConfigProblem } from '../errors';
import { CALENDAR_KINDS, type CalendarEntry, type CalendarKind } from './calendar-entry';
import { CONFIG_DIR } from './etl-config';
import { loadKpiChecks, type KpiCheck } from './kpi-checks';
import { oneOf, readJsonConfig, validateConfig } from './validate';

export { CALENDAR_KINDS, type CalendarEntry, type CalendarKind } from './calendar-entry';

export const DEFAULT_CALENDAR = path.join(CONFIG_DIR, 'calendar.json');

/** What the file holds, one entry as written. */
export interface CalendarEntryInput {
  date?: IsoDate;
  start?: IsoDate;
  end?: IsoDate;
  /** Check names, or "all". */
  checks: string[] | 'all';
  segments?: string[];
  kind: CalendarKind;
  note: string;
  recurring?: 'yearly';
}

const DAY = Joi.string()
  .pattern(/^\d{4}-\d{2}-\d{2}$/)
  .custom((value: string) => {
    if (Number.isNaN(startOfDay(value).getTime()) || startOfDay(value).toISOString().slice(0, 10) !== value)
      throw new Error('not a day of the calendar');
    return value;
  })
  .messages({
    'string.pattern.base': '{{#label}} must be a day, YYYY-MM-DD, got {{#value}}',
    'any.custom': '{{#label}} must be a day, YYYY-MM-DD, got {{#value}}',
  });

const entrySchema = Joi.object({
  date: DAY,
  start: DAY,
  end: DAY,
  checks: Joi.alternatives()
    .try(Joi.string().valid('all'), Joi.array().items(Joi.string().min(1)).min(1).unique())
    .required()
    .messages({
      'alternatives.match': '{{#label}} must be "all" or a list of check names, got {{#value}}',
      'alternatives.types': '{{#label}} must be "all" or a list of check names, got {{#value}}',
    }),
  segments: Joi.array().items(Joi.string()).min(1).unique(),
  kind: oneOf(CALENDAR_KINDS).required(),
  note: Joi.string().min(1).max(500).required(),
  recurring: oneOf(['yearly'] as const),
})
  .xor('date', 'start')
  .with('end', 'start')
  .with('start', 'end')
  .messages({
    'object.xor': '{{#label}} must give either date (one day) or start and end, not both',
    'object.missing': '{{#label}} must give date (one day), or start and end',
    'object.with': '{{#label}} must give start and end together (or date for one day)',
  });

const calendarSchema = Joi.object({ entries: Joi.array().items(entrySchema).required() });

/** The KPI checks with the calendar entries that name each (every check, enabled or not). */
export function loadMonitorChecks(kpisFile: string, calendarFile: string): KpiCheck[] {
  const checks = loadKpiChecks(kpisFile);
  return withCalendar(
    checks,
    loadCalendar(
      calendarFile,
      checks.map((check) => check.name),
    ),
  );
}

/** Each check with the entries that name it. */
export function withCalendar(checks: KpiCheck[], entries: readonly CalendarEntry[]): KpiCheck[] {
  return checks.map((check) => ({ ...check, calendar: entries.filter((entry) => names(entry, check.name)) }));
}

/** Reads and checks a calendar file against the check names of the KPI config; the shipped default may be absent (no entries). */
export function loadCalendar(file: string, checkNames: readonly string[]): CalendarEntry[] {
  return parseCalendar(readCalendarFile(file), file, checkNames);
}

/** The file's entries as written (for `kpis calendar`), validated in shape; a missing default file has none. */
export function readCalendarFile(file: string): CalendarEntryInput[] {
  if (file === DEFAULT_CALENDAR && !existsSync(file)) return [];
  return validateConfig(readJsonConfig(file), calendarSchema, file, 'calendar').entries as CalendarEntryInput[];
}

/** Checks entries as written against the check names: the problems a schema cannot see, with where each is. */
export function parseCalendar(
  inputs: CalendarEntryInput[],
  file: string,
  checkNames: readonly string[],
): CalendarEntry[] {
  validateConfig({ entries: inputs }, calendarSchema, file, 'calendar');
  const problems: ConfigProblem[] = [];
  const entries = inputs.map((input, index) => {
    const entry = calendarEntry(input);
    problems.push(...entryProblems(input, entry, `$.entries[${index}]`, checkNames));
    return entry;
  });
  problems.push(...overlappingNewNormals(entries, checkNames));
  if (problems.length > 0) throw new InvalidConfigError(file, problems, { what: 'calendar' });
  return entries;
}

/** An entry as written, as the monitor reads it: a single `date` is a one-day span; a new_normal without an end stays open. */
function calendarEntry(input: CalendarEntryInput): CalendarEntry {
  const start = (input.date ?? input.start) as IsoDate;
  return {
    start,
    end: input.end ?? start,
    open: input.kind === 'new_normal' && input.end === undefined,
    checks: input.checks,
    segments: input.segments ?? null,
    kind: input.kind,
    note: input.note,
    recurring: input.recurring === 'yearly',
  };
}

/** One entry's own problems: an end before its start, an unknown check, a recurring new_normal. */
function entryProblems(
  input: CalendarEntryInput,
  entry: CalendarEntry,
  where: string,
  checkNames: readonly string[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (entry.end < entry.start)
    problems.push({ path: `${where}.end`, problem: `${entry.end} is before start ${entry.start}` });
  if (input.checks !== 'all') {
    for (const name of input.checks.filter((name) => !checkNames.includes(name)))
      problems.push({
        path: `${where}.checks`,
        problem: `no check named ${JSON.stringify(name)}; the KPI config has ${checkNames.join(', ')}`,
      });
  }
  if (input.recurring !== undefined && input.kind === 'new_normal') {
    problems.push({
      path: `${where}.recurring`,
      problem: 'a new_normal happens once; recurring is for one_off entries (holidays)',
    });
  }
  return problems;
}

/** Two new_normal entries of one check that cover a common day (and segment) leave no single day its baseline starts again on. */
function overlappingNewNormals(entries: CalendarEntry[], checkNames: readonly string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  entries.forEach((a, i) => {
    entries.forEach((b, j) => {
      if (j <= i || a.kind !== 'new_normal' || b.kind !== 'new_normal') return;
      const checks = checkNames.filter((name) => names(a, name) && names(b, name));
      const segmentsMeet =
        a.segments === null ||
        b.segments === null ||
        a.segments.some((segment) => (b.segments as string[]).includes(segment));
      if (checks.length > 0 && segmentsMeet && a.start <= b.end && b.start <= a.end) {
        problems.push({
          path: `$.entries[${j}]`,
          problem: `new_normal ${b.start}..${b.end} overlaps $.entries[${i}] (${a.start}..${a.end}) for ${checks.join(', ')}`,
        });
      }
    });
  });
  return problems;
}

function names(entry: Pick<CalendarEntry, 'checks'>, check: string): boolean {
  return entry.checks === 'all' || entry.checks.includes(check);
}

/** What the calendar says about one check's series (one segment, or the whole check) over a span of days. */
export interface SeriesCalendar {
  /** one_off days and their notes. */
  oneOff: Map<IsoDate, string>;
  /** Days the baseline starts again on (a new_normal's first day, or the day after a temporary one), oldest first. */
  restarts: { day: IsoDate; note: string }[];
}

export const NO_CALENDAR: SeriesCalendar = { oneOff: new Map(), restarts: [] };

/** The entries that apply to a check's series, with recurring ones repeated in every year of `from`..`to`. */
export function seriesCalendar(
  entries: readonly CalendarEntry[],
  check: string,
  segment: string | null,
  from: IsoDate,
  to: IsoDate,
): SeriesCalendar {
  const calendar: SeriesCalendar = { oneOff: new Map(), restarts: [] };
  for (const entry of entries) {
    if (!names(entry, check) || (entry.segments !== null && (segment === null || !entry.segments.includes(segment))))
      continue;
    if (entry.kind === 'new_normal') {
      calendar.restarts.push({ day: entry.start, note: entry.note });
      if (!entry.open) calendar.restarts.push({ day: addDays(entry.end, 1), note: `after ${entry.note}` });
      continue;
    }
    for (const span of occurrences(entry, from, to)) {
      for (let day = span.start; day <= span.end; day = addDays(day, 1))
        if (day >= from && day <= to) calendar.oneOff.set(day, entry.note);
    }
  }
  calendar.restarts.sort((a, b) => a.day.localeCompare(b.day));
  return calendar;
}

/** A recurring entry's span moved to each year that may meet from..to (a 29 February only in leap years). */
export function occurrences(
  entry: Pick<CalendarEntry, 'start' | 'end' | 'recurring'>,
  from: IsoDate,
  to: IsoDate,
): { start: IsoDate; end: IsoDate }[] {
  if (!entry.recurring) return [{ start: entry.start, end: entry.end }];
  const spans: { start: IsoDate; end: IsoDate }[] = [];
  const first = Number(entry.start.slice(0, 4));
  for (let year = Number(from.slice(0, 4)) - 1; year <= Number(to.slice(0, 4)); year++) {
    if (year < first) continue;
    const shift = year - first;
    const start = inYear(entry.start, Number(entry.start.slice(0, 4)) + shift);
    const end = inYear(entry.end, Number(entry.end.slice(0, 4)) + shift);
    if (start !== null && end !== null && start <= to && end >= from) spans.push({ start, end });
  }
  return spans;
}

function inYear(day: IsoDate, year: number): IsoDate | null {
  if (year > 9999) return null;
  const [month, date] = [Number(day.slice(5, 7)), Number(day.slice(8, 10))];
  // Date.UTC rolls 29 February over into March in a common year: such a year has no occurrence.
  const moved = new Date(Date.UTC(year, month - 1, date));
  return moved.getUTCMonth() === month - 1 ? moved.toISOString().slice(0, 10) : null;
}

/** The restart in force on `day`: the latest one on or before it. */
export function restartOn(calendar: SeriesCalendar, day: IsoDate): { day: IsoDate; note: string } | null {
  let found: { day: IsoDate; note: string } | null = null;
  for (const restart of calendar.restarts) if (restart.day <= day) found = restart;
  return found;
}

/** Writes entries as `kpis calendar` keeps the file: two-space JSON, oldest first, a newline at the end. */
export function writeCalendarFile(file: string, entries: CalendarEntryInput[]): void {
  const sorted = [...entries].sort((a, b) => (a.date ?? a.start ?? '').localeCompare(b.date ?? b.start ?? ''));
  writeFileSync(file, `${JSON.stringify({ entries: sorted }, null, 2)}\n`);
}
