/**
 * Which other days a restated day reaches. A table whose row of day X reads earlier days (a 30-day
 * MAU, cohorts of 30 days) changes on the already-built days after a restated one; a table whose
 * row reads later days (a session that begins at 23:50 is measured up to 00:30 the next day)
 * changes on the days before it; their own source did not change. In order:
 * 1. each table's reach, each way: its own `reads_days_before` (`reads_days_after`), plus the
 *    furthest reach of the tables it reads. Through a keep_* table: a late event can move one of
 *    its rows (an install, a first purchase) from any later day to the restated one, so a reader
 *    reaches every later day; a keep_latest row (a last activity) moves from an earlier day, so a
 *    reader reaches every earlier day too;
 * 2. for each table with a reach, the days within it after (before) each restated day, before the
 *    run's range (the run builds its own days anyway), that were already built and were not
 *    restated themselves (those run every table).
 * Only those tables are rebuilt on those days: their inputs of those days did not change.
 */
import type { TableDefinition } from '../config/etl-config';
import { addDays, daysBetween, type DateRange, type IsoDate } from '../dates';
import type { RunLogStep } from './run-log';

/** Each table's reach in days after a restated day (Infinity: every later day), by name; tables of the whole job, so a table reads through one a run does not build. */
export function tableReach(tables: readonly TableDefinition[]): Map<string, number> {
  return reachOf(
    tables,
    (table) => table.readsDaysBefore,
    () => Number.POSITIVE_INFINITY,
  );
}

/** Each table's reach in days before a restated day (Infinity: every earlier day), by name, as tableReach. */
export function tableReachBack(tables: readonly TableDefinition[]): Map<string, number> {
  return reachOf(
    tables,
    (table) => table.readsDaysAfter,
    (read) => (read.strategy === 'keep_latest' ? Number.POSITIVE_INFINITY : 0),
  );
}

/** A table's own days plus the furthest reach of what it reads (`throughKeep` for a keep_* table), by name. */
function reachOf(
  tables: readonly TableDefinition[],
  own: (table: TableDefinition) => number,
  throughKeep: (read: TableDefinition) => number,
): Map<string, number> {
  const byName = new Map(tables.map((table) => [table.name, table]));
  const reach = new Map<string, number>();
  const visit = (table: TableDefinition): number => {
    const known = reach.get(table.name);
    if (known !== undefined) return known;
    reach.set(table.name, 0); // a cycle is a config error found at load; this only stops a loop
    let furthest = 0;
    for (const name of table.reads) {
      const read = byName.get(name);
      if (!read) continue;
      furthest = Math.max(furthest, read.strategy === 'replace_days' ? visit(read) : throughKeep(read));
    }
    const total = own(table) + furthest;
    reach.set(table.name, total);
    return total;
  };
  for (const table of tables) visit(table);
  return reach;
}

/**
 * The later days each of `tables` is rebuilt on, by table name (tables with none left out):
 * within its reach after a restated day, before `range`, among the `built` days, not restated.
 */
export function laterDays(
  tables: readonly TableDefinition[],
  reach: ReadonlyMap<string, number>,
  restated: readonly IsoDate[],
  built: ReadonlySet<IsoDate>,
  range: DateRange,
): Map<string, IsoDate[]> {
  const later = new Map<string, IsoDate[]>();
  if (restated.length === 0) return later;
  const first = addDays([...restated].sort()[0] as IsoDate, 1);
  const lastDay = addDays(range.start, -1);
  if (first > lastDay) return later;
  const candidates = daysBetween(first, lastDay).filter((day) => built.has(day) && !restated.includes(day));
  for (const table of tables) {
    const days = reach.get(table.name) ?? 0;
    if (days === 0) continue;
    const reaches = (changed: IsoDate, day: IsoDate) =>
      changed < day && (days === Number.POSITIVE_INFINITY || addDays(changed, days) >= day);
    const reached = candidates.filter((day) => restated.some((changed) => reaches(changed, day)));
    if (reached.length > 0) later.set(table.name, reached);
  }
  return later;
}

/**
 * The earlier days each of `tables` is rebuilt on, by table name (tables with none left out):
 * within its reach back (tableReachBack) before a restated day, or before a day whose source
 * changed since it was built (`readAhead`, restate.ts); before `range`, among the `built` days,
 * not restated.
 */
export function earlierDays(
  tables: readonly TableDefinition[],
  reachBack: ReadonlyMap<string, number>,
  restated: readonly IsoDate[],
  built: ReadonlySet<IsoDate>,
  range: DateRange,
  readAhead: ReadonlyMap<IsoDate, readonly IsoDate[]> = new Map(),
): Map<string, IsoDate[]> {
  const earlier = new Map<string, IsoDate[]>();
  const candidates = [...new Set([...built, ...readAhead.keys()])]
    .filter((day) => day < range.start && !restated.includes(day))
    .sort();
  for (const table of tables) {
    const days = reachBack.get(table.name) ?? 0;
    if (days === 0) continue;
    const reaches = (changed: IsoDate, day: IsoDate) =>
      day < changed && (days === Number.POSITIVE_INFINITY || addDays(day, days) >= changed);
    const reached = candidates.filter((day) =>
      [...restated, ...(readAhead.get(day) ?? [])].some((changed) => reaches(changed, day)),
    );
    if (reached.length > 0) earlier.set(table.name, reached);
  }
  return earlier;
}

/** Both maps' days by table name, each table's sorted once: what the plan rebuilds beside the restated days. */
export function mergeDays(...maps: ReadonlyMap<string, readonly IsoDate[]>[]): Map<string, IsoDate[]> {
  const merged = new Map<string, IsoDate[]>();
  for (const map of maps)
    for (const [table, days] of map) merged.set(table, [...new Set([...(merged.get(table) ?? []), ...days])].sort());
  return merged;
}

/** The run-log rows that say why each later day is rebuilt, and for which tables (step `restate`, like a restated day's). */
export function laterSteps(
  later: ReadonlyMap<string, IsoDate[]>,
  restated: readonly IsoDate[],
  at: Date,
): RunLogStep[] {
  return reachSteps(later, at, (day) => ({
    reads: 'days before it (reads_days_before, or a keep_* table)',
    changed: restated.filter((restatedDay) => restatedDay < day).sort(),
  }));
}

/**
 * The run-log rows that say why each earlier day is rebuilt, and for which tables, as laterSteps:
 * the restated days after it, else the days after it whose source changed since it was built.
 */
export function earlierSteps(
  earlier: ReadonlyMap<string, IsoDate[]>,
  restated: readonly IsoDate[],
  at: Date,
  readAhead: ReadonlyMap<IsoDate, readonly IsoDate[]> = new Map(),
): RunLogStep[] {
  return reachSteps(earlier, at, (day) => {
    const after = restated.filter((restatedDay) => restatedDay > day).sort();
    const reads = 'days after it (reads_days_after)';
    return after.length > 0
      ? { reads, changed: after }
      : { reads, changed: [...(readAhead.get(day) ?? [])], since: true };
  });
}

/** One `restate` row per day reached, oldest first: its tables, what they read, and the restated days that reach it. */
function reachSteps(
  reached: ReadonlyMap<string, IsoDate[]>,
  at: Date,
  why: (day: IsoDate) => { reads: string; changed: IsoDate[]; since?: boolean },
): RunLogStep[] {
  const byDay = new Map<IsoDate, string[]>();
  for (const [table, days] of reached) for (const day of days) byDay.set(day, [...(byDay.get(day) ?? []), table]);
  return [...byDay]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, tables]) => {
      const { reads, changed, since } = why(day);
      const what = since ? 'changed since it was built' : `${changed.length === 1 ? 'was' : 'were'} restated`;
      return {
        step: 'restate',
        logType: 'info' as const,
        at,
        message: `restated ${day}: ${tables.join(', ')} only: ${tables.length === 1 ? 'it reads' : 'they read'} ${reads}, and ${changed.join(', ')} ${what}`,
      };
    });
}
