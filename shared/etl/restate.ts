/**
 * Which earlier days a run builds again (`restate_days`): those whose source changed since they
 * were last built. In order:
 * 1. off (restate_days 0), or no enabled table reads a source: nothing is read (a run of chosen
 *    KPIs decides as a run of every table does: the run log's versions are of every source);
 * 2. the source's version of every day from restate_days before the range to its end (and the
 *    days after it that a table reads ahead: `reads_days_after`), from the warehouse (partition
 *    metadata on BigQuery, fingerprints on DuckDB: Warehouse.sourceVersions);
 * 3. the versions the run log recorded when each earlier day was last built, and the versions of
 *    the days after it that build saw;
 * 4. an earlier day is restated when its newest build recorded another version. A day never
 *    recorded (built with restate_days off, or never built) is left alone: no backfill by stealth.
 *    An earlier day whose newest build saw another version of a day after it (a late event at
 *    00:10 continuing a session of 23:50, landed after the evening was built) is read ahead:
 *    reach.ts rebuilds the tables that read those days on it;
 * 5. but a day read ahead keeps receiving its own events after the build (built at 06:00, the
 *    evening read today's first hours): where the build recorded that day's version of the events
 *    timed before the build's time (`read_ahead_before`), only a change there counts. Unchanged,
 *    the run records the day's whole version as seen by that build (`read_ahead_checked`), so the
 *    next run compares no further. Rows without it (older ones, a GA4 export's shards) compare
 *    whole days.
 * The run records the version of each day it builds on its end row, in its own transaction, with
 * those of the days after them its tables read (whole, and before the run's time).
 */
import type { EtlJob, TableDefinition } from '../config/etl-config';
import { addDays, daysBetween, type DateRange, type IsoDate } from '../dates';
import { TableNotFoundError } from '../errors';
import { placeholders, renderSqlFile } from '../sql';
import { canonicalTimestamp, timestampMicros } from '../timestamps';
import type { JobContext, SourceRef, Warehouse } from '../warehouse/warehouse';
import type { RunLogStep } from './run-log';
import { runLogShape, runLogValues } from './run-log-shape';

export interface RestatedDay {
  day: IsoDate;
  /** The version the day was last built from, and the source's now: why it is restated. */
  was: string;
  now: string;
}

export interface RestateDecision {
  /** The source's version of each day of the window; a day with no events reads `no events`. */
  versions: Map<IsoDate, string>;
  restated: RestatedDay[];
  /** The earlier days of the window some build recorded a version of: built already (reach.ts rebuilds only those). */
  built: Set<IsoDate>;
  /** How many days after its own a table reads at most (reads_days_after): the window reaches that far past the range. */
  aheadDays: number;
  /** Earlier days, not restated, whose newest build saw another version of these days after them (oldest first). */
  readAhead: Map<IsoDate, IsoDate[]>;
  /** The days after the range read ahead, their events timed before the run's time `at` only: what the end row records of them. */
  aheadBefore: { at: Date; versions: Map<IsoDate, string> } | null;
  /** Earlier days whose days read ahead changed only after their build's time: those days' versions now, seen by that build. */
  checked: Map<IsoDate, Map<IsoDate, string>>;
}

/** What the run reads ahead: how many days after its own a table reads, and the run's time (the bound of the days after the range). */
export interface ReadingAhead {
  aheadDays: number;
  at: Date;
}

/** What an end row recorded, parsed; `at` in microseconds. */
interface RecordedRow {
  at: bigint;
  built: [IsoDate, string][];
  ahead: [IsoDate, string][];
  aheadBefore: { at: Date; versions: [IsoDate, string][] } | null;
  checked: [IsoDate, [IsoDate, string][]][];
}

/** A day's newest build: the versions it saw (of that day and of the others), and of the days it read ahead, those before its time. */
interface Build {
  at: bigint;
  seen: Map<IsoDate, Set<string>>;
  before: { at: Date; versions: Map<IsoDate, Set<string>> } | null;
}

/** Versions of each day over every source, for a window (null: a source cannot tell, e.g. a bound on shards). */
type ReadVersions = (window: DateRange) => Promise<Map<IsoDate, string> | null>;

const NO_EVENTS = 'no events';

/**
 * The decision for a run over `range`; null when restating is off (nothing read). `reading.aheadDays`:
 * how many days after its own a table of the job reads (reach.ts, tableReachBack).
 */
export async function decideRestate(
  warehouse: Warehouse,
  job: EtlJob,
  range: DateRange,
  context: JobContext,
  reading: ReadingAhead,
): Promise<RestateDecision | null> {
  const restateDays = job.restateDays ?? 0;
  const sources = sourcesOf(job.tables.filter((table) => table.isEnable));
  if (restateDays === 0 || sources.length === 0) return null;
  const { aheadDays } = reading;
  const window = { start: addDays(range.start, -restateDays), end: addDays(range.end, aheadDays) };
  const whole = (days: DateRange) =>
    combined(sources, days, (source) => warehouse.sourceVersions(source, days, job.timeZone, context));
  const versionsBefore = (before: Date) => (days: DateRange) =>
    combined(sources, days, (source) => warehouse.sourceVersionsBefore(source, days, before, job.timeZone, context));
  const versions = (await whole(window)) ?? new Map<IsoDate, string>();
  const builds = await recordedVersions(warehouse, job, window.start, context);
  const now = (day: IsoDate) => versions.get(day) ?? NO_EVENTS;
  const restated: RestatedDay[] = [];
  const candidates = new Map<IsoDate, IsoDate[]>();
  for (const day of daysBetween(window.start, addDays(range.start, -1))) {
    const seen = builds.get(day)?.seen ?? new Map<IsoDate, Set<string>>();
    const was = seen.get(day);
    // Days after the range are left for the run that builds them: today's keep changing.
    const changed = changedSince(seen, now, daysBetween(addDays(day, 1), addDays(day, aheadDays))).filter(
      (later) => later <= range.end,
    );
    if (was !== undefined && !was.has(now(day))) restated.push({ day, was: [...was].join(' or '), now: now(day) });
    else if (changed.length > 0) candidates.set(day, changed);
  }
  const { readAhead, checked } = await beforeTheirBuilds(candidates, builds, now, versionsBefore);
  const afterRange = aheadDays === 0 ? [] : daysBetween(addDays(range.end, 1), window.end);
  const aheadBefore = await soFar(afterRange, now, reading.at, versionsBefore(reading.at));
  return { versions, restated, built: new Set(builds.keys()), aheadDays, readAhead, aheadBefore, checked };
}

/**
 * Of the earlier days whose days read ahead changed since their build (`candidates`), those where
 * the change is in the events timed before the build's time (`readAhead`: rebuilt); the others
 * (`checked`) changed only after it, by the day's own later events. A build that recorded no
 * such versions of a day (an older row, a shard source) is judged by the whole day.
 */
async function beforeTheirBuilds(
  candidates: ReadonlyMap<IsoDate, IsoDate[]>,
  builds: ReadonlyMap<IsoDate, Build>,
  now: (day: IsoDate) => string,
  versionsBefore: (before: Date) => ReadVersions,
): Promise<Pick<RestateDecision, 'readAhead' | 'checked'>> {
  const readAhead = new Map<IsoDate, IsoDate[]>();
  const checked = new Map<IsoDate, Map<IsoDate, string>>();
  for (const [day, later] of candidates) {
    const before = builds.get(day)?.before ?? null;
    const counted = before === null ? [] : later.filter((other) => before.versions.has(other));
    const first = counted[0];
    const last = counted[counted.length - 1];
    const stamps =
      before !== null && first !== undefined && last !== undefined
        ? await versionsBefore(before.at)({ start: first, end: last })
        : null;
    const moved = later.filter(
      (other) => stamps === null || !(before?.versions.get(other)?.has(stamps.get(other) ?? NO_EVENTS) ?? false),
    );
    if (moved.length > 0) readAhead.set(day, moved);
    else checked.set(day, new Map(later.map((other) => [other, now(other)])));
  }
  return { readAhead, checked };
}

/** The days after the range, their events timed before `at` (the run's time): none read when none has events; null when a source cannot tell. */
async function soFar(
  days: IsoDate[],
  now: (day: IsoDate) => string,
  at: Date,
  read: ReadVersions,
): Promise<RestateDecision['aheadBefore']> {
  const first = days[0];
  const last = days[days.length - 1];
  if (first === undefined || last === undefined) return null;
  const stamps = days.every((day) => now(day) === NO_EVENTS)
    ? new Map<IsoDate, string>()
    : await read({ start: first, end: last });
  if (stamps === null) return null;
  return { at, versions: new Map(days.map((day) => [day, stamps.get(day) ?? NO_EVENTS])) };
}

/** Of `days`, those a build saw (`seen`) in another version than now; a day it did not record is left alone. */
function changedSince(
  seen: ReadonlyMap<IsoDate, Set<string>>,
  now: (day: IsoDate) => string,
  days: IsoDate[],
): IsoDate[] {
  return days.filter((day) => {
    const saw = seen.get(day);
    return saw !== undefined && !saw.has(now(day));
  });
}

/** The run-log rows that say why each day is restated (none when nothing is). */
export function restateSteps(decision: RestateDecision | null, at: Date): RunLogStep[] {
  return (decision?.restated ?? []).map(({ day, was, now }) => ({
    step: 'restate',
    logType: 'info' as const,
    at,
    message: `restated ${day}: its source changed since it was built (${was} -> ${now})`,
  }));
}

/**
 * What the end row adds to its message: the source version of each day built, so the next run
 * can tell what changed since, and under `read_ahead` the versions of the days after them that
 * their tables read (reads_days_after) and that are not built themselves. On the end row, because
 * it commits with the tables, and a run's rows stay the ones they were. `reached`: the earlier
 * days whose read-ahead tables the run rebuilt (reach.ts): their source is unchanged (else they
 * were restated), and what they read ahead is now seen.
 */
export function versionsNote(
  decision: RestateDecision | null,
  range: DateRange,
  reached: readonly IsoDate[] = [],
): string {
  if (!decision) return '';
  const known = (day: IsoDate) => decision.versions.has(day);
  const built = [
    ...new Set([
      ...decision.restated.map(({ day }) => day),
      ...reached.filter(known),
      ...daysBetween(range.start, range.end),
    ]),
  ].sort();
  const version = (day: IsoDate): [IsoDate, string] => [day, decision.versions.get(day) ?? NO_EVENTS];
  const ahead =
    decision.aheadDays === 0
      ? []
      : built.flatMap((day) => daysBetween(addDays(day, 1), addDays(day, decision.aheadDays)));
  const seen = [...new Set(ahead)].filter((day) => !built.includes(day) && known(day)).sort();
  const readAhead =
    seen.length > 0
      ? { [READ_AHEAD_KEY]: Object.fromEntries(seen.map(version)), ...beforeNote(decision.aheadBefore, seen) }
      : {};
  const checked = [...decision.checked]
    .filter(([day]) => !built.includes(day))
    .map(([day, later]) => [day, Object.fromEntries(later)]);
  const checkedNote = checked.length > 0 ? { [CHECKED_KEY]: Object.fromEntries(checked) } : {};
  return `${VERSIONS_MARKER}${JSON.stringify({ ...Object.fromEntries(built.map(version)), ...readAhead, ...checkedNote })}`;
}

/** Of the days read ahead `seen`, those counted before the run's time: `{read_ahead_before: {at, versions}}`, or nothing. */
function beforeNote(aheadBefore: RestateDecision['aheadBefore'], seen: IsoDate[]): Record<string, unknown> {
  const counted = seen.flatMap((day) => {
    const version = aheadBefore?.versions.get(day);
    return version === undefined ? [] : [[day, version] as const];
  });
  if (aheadBefore === null || counted.length === 0) return {};
  return { [BEFORE_KEY]: { at: aheadBefore.at.toISOString(), versions: Object.fromEntries(counted) } };
}

const VERSIONS_MARKER = '; source versions ';
/** Inside the versions' object, as are the two keys below: older readers skip them (their parseVersions keeps string values only). */
const READ_AHEAD_KEY = 'read_ahead';
/** `{at, versions: {day: version}}`: the days read ahead, their events timed before the build's time `at` only. */
const BEFORE_KEY = 'read_ahead_before';
/** `{day built earlier: {day read ahead: version}}`: whole versions of days read ahead that changed only after that build's time. */
const CHECKED_KEY = 'read_ahead_checked';

/** The distinct source tables the run's tables read through `{{source}}`. */
function sourcesOf(tables: TableDefinition[]): { dataset: string; table: string }[] {
  const names = new Set(
    tables
      .filter((table) => placeholders(table.query).includes('source'))
      .map((table) => `${table.dataset_src}.${table.table_src}`),
  );
  return [...names].sort().map((name) => {
    const [dataset, table] = name.split('.') as [string, string];
    return { dataset, table };
  });
}

/** Each day's version over every source: one source's stamp, or each source's named when there are several; null when a source cannot tell. */
async function combined(
  sources: SourceRef[],
  window: DateRange,
  read: (source: SourceRef) => Promise<Map<IsoDate, string> | null>,
): Promise<Map<IsoDate, string> | null> {
  const perSource: Map<IsoDate, string>[] = [];
  for (const source of sources) {
    const stamps = await read(source);
    if (stamps === null) return null;
    perSource.push(stamps);
  }
  const versions = new Map<IsoDate, string>();
  for (const day of daysBetween(window.start, window.end)) {
    const stamps = perSource.map((stamp) => stamp.get(day) ?? NO_EVENTS);
    versions.set(
      day,
      sources.length === 1
        ? (stamps[0] as string)
        : sources.map((s, i) => `${s.dataset}.${s.table}: ${stamps[i] as string}`).join('; '),
    );
  }
  return versions;
}

/**
 * What each day's newest build saw, by day built: the versions it recorded of that day and of the
 * others (the days it built with it, and those its tables read ahead), those of the days read
 * ahead before its time, and the whole versions later runs found changed only after it. Rows of
 * one instant are all kept (two runs under a frozen clock share one): a day matching any of them
 * is unchanged.
 */
async function recordedVersions(
  warehouse: Warehouse,
  job: EtlJob,
  firstDay: IsoDate,
  context: JobContext,
): Promise<Map<IsoDate, Build>> {
  const shape = await runLogShape(warehouse);
  const sql = renderSqlFile('logs/day_versions.sql', runLogValues(warehouse, shape));
  const params = {
    since: { type: 'DATE' as const, value: addDays(firstDay, -1) },
    job_name: { type: 'STRING' as const, value: job.jobName },
  };
  const rows = await warehouse
    .query(sql, params, { ...context, sqlFile: 'logs/day_versions.sql' })
    .catch((error: unknown) => {
      if (error instanceof TableNotFoundError) return [];
      throw error;
    });
  const recorded = rows.map((row) => ({
    at: timestampMicros(canonicalTimestamp(row.ts as string | Date)),
    ...parseVersions(row.message),
  }));
  const newest = new Map<IsoDate, Build>();
  for (const row of recorded) for (const [day] of row.built) addBuild(newest, day, row);
  for (const row of recorded) {
    for (const [day, later] of row.checked) {
      const build = newest.get(day);
      if (build && row.at >= build.at) for (const [other, version] of later) addSeen(build.seen, other, version);
    }
  }
  return newest;
}

/** Keeps `row` as `day`'s build when it is the newest (or as new as the one kept: both are seen). */
function addBuild(newest: Map<IsoDate, Build>, day: IsoDate, row: RecordedRow): void {
  const known = newest.get(day);
  if (known && row.at < known.at) return;
  const entry: Build = known && row.at === known.at ? known : { at: row.at, seen: new Map(), before: null };
  newest.set(day, entry);
  for (const [other, version] of [...row.built, ...row.ahead]) addSeen(entry.seen, other, version);
  const before = row.aheadBefore;
  if (before === null || (entry.before !== null && entry.before.at.getTime() !== before.at.getTime())) return;
  entry.before ??= { at: before.at, versions: new Map() };
  for (const [other, version] of before.versions) addSeen(entry.before.versions, other, version);
}

function addSeen(seen: Map<IsoDate, Set<string>>, day: IsoDate, version: string): void {
  seen.set(day, (seen.get(day) ?? new Set<string>()).add(version));
}

/**
 * An end row's versions: {day: version} of the days it built, under read_ahead those of the days
 * after them its tables read, under read_ahead_before those counted before its time, under
 * read_ahead_checked those found changed after an earlier build's time; a row without them
 * (restate_days off, the cron job's) holds none.
 */
function parseVersions(message: unknown): Omit<RecordedRow, 'at'> {
  const none = { built: [], ahead: [], aheadBefore: null, checked: [] };
  if (typeof message !== 'string' || !message.includes(VERSIONS_MARKER)) return none;
  try {
    const parsed = JSON.parse(message.slice(message.indexOf(VERSIONS_MARKER) + VERSIONS_MARKER.length)) as unknown;
    const before = field(parsed, BEFORE_KEY);
    const at = typeof field(before, 'at') === 'string' ? new Date(field(before, 'at') as string) : null;
    return {
      built: strings(parsed),
      ahead: strings(field(parsed, READ_AHEAD_KEY)),
      aheadBefore:
        at !== null && !Number.isNaN(at.getTime()) ? { at, versions: strings(field(before, 'versions')) } : null,
      checked: entries(field(parsed, CHECKED_KEY)).map(([day, later]): [IsoDate, [IsoDate, string][]] => [
        day,
        strings(later),
      ]),
    };
  } catch {
    return none;
  }
}

/** An object's own entries; none for anything else. */
function entries(value: unknown): [string, unknown][] {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value as Record<string, unknown>)
    : [];
}

/** An object's entries whose value is a string. */
function strings(value: unknown): [IsoDate, string][] {
  return entries(value).filter((entry): entry is [IsoDate, string] => typeof entry[1] === 'string');
}

/** An object's own field `key`; undefined for anything else. */
function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
