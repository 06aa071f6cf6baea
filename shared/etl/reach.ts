/**
 * Which later days a restated day reaches: a table whose row of day X reads earlier days (a 30-day
 * MAU, cohorts of 30 days, a session that began the evening before) changes on the already-built
 * days after a restated one, though their own source did not change. In order:
 * 1. each table's reach: its own `reads_days_before`, plus the furthest reach of the tables it
 *    reads; a table that reads a keep_* table reaches every later day (a late event can move one
 *    of its rows, an install or a first purchase, from any later day to the restated one);
 * 2. for each table with a reach, the days after each restated day within it, up to the day before
 *    the run's range (the run builds its own days anyway), that were already built and were not
 *    restated themselves (those run every table).
 * Only those tables are rebuilt on those days: their inputs of those days did not change.
 */
import type { TableDefinition } from '../config/etl-config';
import { addDays, daysBetween, type DateRange, type IsoDate } from '../dates';
import type { RunLogStep } from './run-log';

/** Each table's reach in days (Infinity: every later day), by name; tables of the whole job, so a table reads through one a run does not build. */
export function tableReach(tables: readonly TableDefinition[]): Map<string, number> {
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
      furthest = Math.max(furthest, read.strategy === 'replace_days' ? visit(read) : Number.POSITIVE_INFINITY);
    }
    const total = table.readsDaysBefore + furthest;
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
    const reaches = (changed: IsoDate, day: IsoDate) => changed < day && (days === Number.POSITIVE_INFINITY || addDays(changed, days) >= day);
    const reached = candidates.filter((day) => restated.some((changed) => reaches(changed, day)));
    if (reached.length > 0) later.set(table.name, reached);
  }
  return later;
}

/** The run-log rows that say why each later day is rebuilt, and for which tables (step `restate`, like a restated day's). */
export function laterSteps(later: ReadonlyMap<string, IsoDate[]>, restated: readonly IsoDate[], at: Date): RunLogStep[] {
  const byDay = new Map<IsoDate, string[]>();
  for (const [table, days] of later) for (const day of days) byDay.set(day, [...(byDay.get(day) ?? []), table]);
  return [...byDay]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, tables]) => {
      const changed = restated.filter((restatedDay) => restatedDay < day).sort();
      return {
        step: 'restate',
        logType: 'info' as const,
        at,
        message: `restated ${day}: ${tables.join(', ')} only: ${tables.length === 1 ? 'it reads' : 'they read'} days before it (reads_days_before, or a keep_* table), and ${changed.join(', ')} ${changed.length === 1 ? 'was' : 'were'} restated`,
      };
    });
}
