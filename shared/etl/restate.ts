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
 *    reach.ts rebuilds the tables that read those days on it.
 * The run records the version of each day it builds on its end row, in its own transaction, with
 * those of the days after them its tables read.
 */
import type { EtlJob, TableDefinition } from '../config/etl-config';
import { addDays, daysBetween, type DateRange, type IsoDate } from '../dates';
import { TableNotFoundError } from '../errors';
import { placeholders, renderSqlFile } from '../sql';
import { canonicalTimestamp, timestampMicros } from '../timestamps';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
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
}

const NO_EVENTS = 'no events';

/**
 * The decision for a run over `range`; null when restating is off (nothing read). `aheadDays`:
 * how many days after its own a table of the job reads (reach.ts, tableReachBack).
 */
export async function decideRestate(warehouse: Warehouse, job: EtlJob, range: DateRange, context: JobContext, aheadDays = 0): Promise<RestateDecision | null> {
  const restateDays = job.restateDays ?? 0;
  const sources = sourcesOf(job.tables.filter((table) => table.isEnable));
  if (restateDays === 0 || sources.length === 0) return null;
  const window = { start: addDays(range.start, -restateDays), end: addDays(range.end, aheadDays) };
  const versions = await currentVersions(warehouse, sources, window, job.timeZone, context);
  const built = await recordedVersions(warehouse, job, window.start, context);
  const restated: RestatedDay[] = [];
  const readAhead = new Map<IsoDate, IsoDate[]>();
  const now = (day: IsoDate) => versions.get(day) ?? NO_EVENTS;
  for (const day of daysBetween(window.start, addDays(range.start, -1))) {
    const seen = built.get(day) ?? new Map<IsoDate, Set<string>>();
    const was = seen.get(day);
    // Days after the range are left for the run that builds them: today's keep changing.
    const changed = changedSince(seen, now, daysBetween(addDays(day, 1), addDays(day, aheadDays))).filter((later) => later <= range.end);
    if (was !== undefined && !was.has(now(day))) restated.push({ day, was: [...was].join(' or '), now: now(day) });
    else if (changed.length > 0) readAhead.set(day, changed);
  }
  return { versions, restated, built: new Set(built.keys()), aheadDays, readAhead };
}

/** Of `days`, those a build saw (`seen`) in another version than now; a day it did not record is left alone. */
function changedSince(seen: ReadonlyMap<IsoDate, Set<string>>, now: (day: IsoDate) => string, days: IsoDate[]): IsoDate[] {
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
export function versionsNote(decision: RestateDecision | null, range: DateRange, reached: readonly IsoDate[] = []): string {
  if (!decision) return '';
  const known = (day: IsoDate) => decision.versions.has(day);
  const built = [...new Set([...decision.restated.map(({ day }) => day), ...reached.filter(known), ...daysBetween(range.start, range.end)])].sort();
  const version = (day: IsoDate): [IsoDate, string] => [day, decision.versions.get(day) ?? NO_EVENTS];
  const ahead = decision.aheadDays === 0 ? [] : built.flatMap((day) => daysBetween(addDays(day, 1), addDays(day, decision.aheadDays)));
  const seen = [...new Set(ahead)].filter((day) => !built.includes(day) && known(day)).sort();
  const readAhead = seen.length > 0 ? { [READ_AHEAD_KEY]: Object.fromEntries(seen.map(version)) } : {};
  return `${VERSIONS_MARKER}${JSON.stringify({ ...Object.fromEntries(built.map(version)), ...readAhead })}`;
}

const VERSIONS_MARKER = '; source versions ';
/** Inside the versions' object: older readers skip it (parseVersions keeps string values only). */
const READ_AHEAD_KEY = 'read_ahead';

/** The distinct source tables the run's tables read through `{{source}}`. */
function sourcesOf(tables: TableDefinition[]): { dataset: string; table: string }[] {
  const names = new Set(tables.filter((table) => placeholders(table.query).includes('source')).map((table) => `${table.dataset_src}.${table.table_src}`));
  return [...names].sort().map((name) => {
    const [dataset, table] = name.split('.') as [string, string];
    return { dataset, table };
  });
}

/** Each day's version over every source: one source's stamp, or each source's named when there are several. */
async function currentVersions(
  warehouse: Warehouse,
  sources: { dataset: string; table: string }[],
  window: DateRange,
  timeZone: string,
  context: JobContext,
): Promise<Map<IsoDate, string>> {
  const perSource = [];
  for (const source of sources) perSource.push(await warehouse.sourceVersions(source, window, timeZone, context));
  const versions = new Map<IsoDate, string>();
  for (const day of daysBetween(window.start, window.end)) {
    const stamps = perSource.map((stamp) => stamp.get(day) ?? NO_EVENTS);
    versions.set(day, sources.length === 1 ? (stamps[0] as string) : sources.map((s, i) => `${s.dataset}.${s.table}: ${stamps[i] as string}`).join('; '));
  }
  return versions;
}

/**
 * What each day's newest build saw, by day built: the versions it recorded of that day and of the
 * others (the days it built with it, and those its tables read ahead). Rows of one instant are
 * all kept (two runs under a frozen clock share one): a day matching any of them is unchanged.
 */
async function recordedVersions(warehouse: Warehouse, job: EtlJob, firstDay: IsoDate, context: JobContext): Promise<Map<IsoDate, Map<IsoDate, Set<string>>>> {
  const shape = await runLogShape(warehouse);
  const sql = renderSqlFile('logs/day_versions.sql', runLogValues(warehouse, shape));
  const params = { since: { type: 'DATE' as const, value: addDays(firstDay, -1) }, job_name: { type: 'STRING' as const, value: job.jobName } };
  const rows = await warehouse.query(sql, params, { ...context, sqlFile: 'logs/day_versions.sql' }).catch((error: unknown) => {
    if (error instanceof TableNotFoundError) return [];
    throw error;
  });
  const newest = new Map<IsoDate, { at: bigint; seen: Map<IsoDate, Set<string>> }>();
  for (const row of rows) {
    const at = timestampMicros(canonicalTimestamp(row.ts as string | Date));
    const { built, ahead } = parseVersions(row.message);
    for (const [day] of built) {
      const known = newest.get(day);
      if (known && at < known.at) continue;
      const entry = known && at === known.at ? known : { at, seen: new Map<IsoDate, Set<string>>() };
      newest.set(day, entry);
      for (const [other, version] of [...built, ...ahead]) entry.seen.set(other, (entry.seen.get(other) ?? new Set<string>()).add(version));
    }
  }
  return new Map([...newest].map(([day, { seen }]) => [day, seen]));
}

/**
 * An end row's versions: {day: version} of the days it built, and under read_ahead those of the
 * days after them its tables read; a row without them (restate_days off, the cron job's) holds none.
 */
function parseVersions(message: unknown): { built: [IsoDate, string][]; ahead: [IsoDate, string][] } {
  const none = { built: [], ahead: [] };
  if (typeof message !== 'string' || !message.includes(VERSIONS_MARKER)) return none;
  const strings = (value: unknown): [IsoDate, string][] =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value as Record<string, unknown>).filter((entry): entry is [IsoDate, string] => typeof entry[1] === 'string')
      : [];
  try {
    const parsed = JSON.parse(message.slice(message.indexOf(VERSIONS_MARKER) + VERSIONS_MARKER.length)) as unknown;
    const ahead = parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, READ_AHEAD_KEY) ? (parsed as Record<string, unknown>)[READ_AHEAD_KEY] : null;
    return { built: strings(parsed), ahead: strings(ahead) };
  } catch {
    return none;
  }
}
