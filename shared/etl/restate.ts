/**
 * Which earlier days a run builds again (`restate_days`): those whose source changed since they
 * were last built. In order:
 * 1. off (restate_days 0), or no enabled table reads a source: nothing is read (a run of chosen
 *    KPIs decides as a run of every table does: the run log's versions are of every source);
 * 2. the source's version of every day from restate_days before the range to its end, from the
 *    warehouse (partition metadata on BigQuery, fingerprints on DuckDB: Warehouse.sourceVersions);
 * 3. the versions the run log recorded when each earlier day was last built;
 * 4. an earlier day is restated when its newest build recorded another version. A day never
 *    recorded (built with restate_days off, or never built) is left alone: no backfill by stealth.
 * The run records the version of each day it builds on its end row, in its own transaction.
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
}

const NO_EVENTS = 'no events';

/** The decision for a run over `range`; null when restating is off (nothing read). */
export async function decideRestate(warehouse: Warehouse, job: EtlJob, range: DateRange, context: JobContext): Promise<RestateDecision | null> {
  const restateDays = job.restateDays ?? 0;
  const sources = sourcesOf(job.tables.filter((table) => table.isEnable));
  if (restateDays === 0 || sources.length === 0) return null;
  const window = { start: addDays(range.start, -restateDays), end: range.end };
  const versions = await currentVersions(warehouse, sources, window, job.timeZone, context);
  const built = await recordedVersions(warehouse, job, window.start, context);
  const restated: RestatedDay[] = [];
  for (const day of daysBetween(window.start, addDays(range.start, -1))) {
    const was = built.get(day);
    const now = versions.get(day) ?? NO_EVENTS;
    if (was !== undefined && !was.has(now)) restated.push({ day, was: [...was].join(' or '), now });
  }
  return { versions, restated, built: new Set(built.keys()) };
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
 * can tell what changed since. On the end row, because it commits with the tables, and a run's
 * rows stay the ones they were.
 */
export function versionsNote(decision: RestateDecision | null, range: DateRange): string {
  if (!decision) return '';
  const days = [...decision.restated.map(({ day }) => day), ...daysBetween(range.start, range.end)];
  return `${VERSIONS_MARKER}${JSON.stringify(Object.fromEntries(days.map((day) => [day, decision.versions.get(day) ?? NO_EVENTS])))}`;
}

const VERSIONS_MARKER = '; source versions ';

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
 * The versions each day's newest build recorded. Rows of one instant are all kept (two runs under
 * a frozen clock share one): a day matching any of them is unchanged.
 */
async function recordedVersions(warehouse: Warehouse, job: EtlJob, firstDay: IsoDate, context: JobContext): Promise<Map<IsoDate, Set<string>>> {
  const shape = await runLogShape(warehouse);
  const sql = renderSqlFile('logs/day_versions.sql', runLogValues(warehouse, shape));
  const params = { since: { type: 'DATE' as const, value: addDays(firstDay, -1) }, job_name: { type: 'STRING' as const, value: job.jobName } };
  const rows = await warehouse.query(sql, params, { ...context, sqlFile: 'logs/day_versions.sql' }).catch((error: unknown) => {
    if (error instanceof TableNotFoundError) return [];
    throw error;
  });
  const newest = new Map<IsoDate, { at: bigint; versions: Set<string> }>();
  for (const row of rows) {
    const at = timestampMicros(canonicalTimestamp(row.ts as string | Date));
    for (const [day, version] of parseVersions(row.message)) {
      const known = newest.get(day);
      if (!known || at > known.at) newest.set(day, { at, versions: new Set([version]) });
      else if (at === known.at) known.versions.add(version);
    }
  }
  return new Map([...newest].map(([day, { versions }]) => [day, versions]));
}

/** An end row's versions, {day: version}; a row without them (restate_days off, the cron job's) holds none. */
function parseVersions(message: unknown): [IsoDate, string][] {
  if (typeof message !== 'string' || !message.includes(VERSIONS_MARKER)) return [];
  try {
    const parsed = JSON.parse(message.slice(message.indexOf(VERSIONS_MARKER) + VERSIONS_MARKER.length)) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
    return Object.entries(parsed as Record<string, unknown>).filter((entry): entry is [IsoDate, string] => typeof entry[1] === 'string');
  } catch {
    return [];
  }
}
