/**
 * The source freshness guard (`source_freshness_hours`): when the newest event of a source is
 * older than that at run time, the ETL still builds, and says so on its end row, where the log
 * monitor finds it and raises one `source_stale` pipeline alert (shared/monitor/log-monitor.ts):
 * a stuck ingestion is then not taken for a product drop.
 */
import type { EtlJob, TableDefinition } from '../config/etl-config';
import { placeholders, renderSqlFile } from '../sql';
import { toIsoDate } from '../dates';
import { canonicalTimestamp } from '../timestamps';
import { readingSources, sourceRenderings } from './sources';
import type { JobContext, Warehouse } from '../warehouse/warehouse';

/** What an end row's message says of a stale source, and how the log monitor finds it. */
export const SOURCE_STALE_MARKER = '; source stale: ';

const HOUR_MS = 3_600_000;

/**
 * The end row's note for each source read by `tables` whose newest event is older than the
 * threshold at `at` ('' when all are fresh, or the guard is off). The read reaches back twice the
 * threshold, at least a day: an older newest event is named as "none since then".
 */
export async function staleSourcesNote(
  warehouse: Warehouse,
  job: EtlJob,
  tables: TableDefinition[],
  at: Date,
  context: JobContext,
): Promise<string> {
  const hours = job.sourceFreshnessHours ?? 0;
  if (hours === 0) return '';
  const since = new Date(at.getTime() - Math.max(2 * hours, 24) * HOUR_MS);
  const reading = await newestOnlyReading(warehouse, tables, since, at);
  const notes: string[] = [];
  for (const source of sourcesRead(tables)) {
    const newest = await newestEvent(warehouse, reading, source, since, context);
    const age = newest === null ? null : (at.getTime() - Date.parse(newest)) / HOUR_MS;
    if (age !== null && age <= hours) continue;
    const what =
      newest === null
        ? `no event since ${since.toISOString()}`
        : `newest event ${newest}, ${Math.round(age as number)} h old`;
    notes.push(`${source} ${what} at ${at.toISOString()} (source_freshness_hours ${hours})`);
  }
  return notes.length === 0 ? '' : `${SOURCE_STALE_MARKER}${notes.join('; ')}`;
}

/** The source tables `tables` read through {{source}}, as dataset.table, sorted. */
function sourcesRead(tables: TableDefinition[]): string[] {
  return [
    ...new Set(
      tables
        .filter((table) => placeholders(table.query).includes('source'))
        .map((table) => `${table.dataset_src}.${table.table_src}`),
    ),
  ].sort();
}

/**
 * The source as the ETL reads it (a GA4 export's shards of those days, by their mapping). Only the
 * newest event is read: no day before `since` (a table's reads_days_before) is needed, and none
 * after `at` (reads_days_after) exists yet.
 */
async function newestOnlyReading(
  warehouse: Warehouse,
  tables: TableDefinition[],
  since: Date,
  at: Date,
): Promise<Pick<Warehouse, 'tableRef'>> {
  const newestOnly = tables.map((table) => ({ ...table, readsDaysBefore: 0, readsDaysAfter: 0 }));
  return readingSources(
    warehouse,
    await sourceRenderings(warehouse, newestOnly, { start: toIsoDate(since), end: toIsoDate(at) }),
  );
}

/** The newest event time of `source` since `since`, canonical, or null when there is none. */
async function newestEvent(
  warehouse: Warehouse,
  reading: Pick<Warehouse, 'tableRef'>,
  source: string,
  since: Date,
  context: JobContext,
): Promise<string | null> {
  const [dataset, table] = source.split('.') as [string, string];
  const sql = renderSqlFile('etl/newest_event.sql', { source: reading.tableRef(dataset, table) });
  const [row] = await warehouse.query(
    sql,
    { since: { type: 'TIMESTAMP', value: since } },
    { ...context, sqlFile: 'etl/newest_event.sql' },
  );
  return row?.newest == null ? null : canonicalTimestamp(row.newest as string | Date);
}

/** The stale-source note of an end row's message, or null: what the log monitor alerts on. */
export function staleSourceIn(message: string): string | null {
  const start = message.indexOf(SOURCE_STALE_MARKER);
  if (start === -1) return null;
  const rest = message.slice(start + SOURCE_STALE_MARKER.length);
  const end = rest.indexOf('; source versions ');
  return end === -1 ? rest : rest.slice(0, end);
}
