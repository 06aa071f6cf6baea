/** The headline KPIs of one day, read back from the KPI tables. */
import type { EtlJob } from '../config/etl-config';
import type { IsoDate } from '../dates';
import { configuredTables } from '../config/etl-config';
import { renderQuery } from '../config/table-sql';
import { UsageError } from '../errors';
import { placeholders, readSqlTemplate } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';

export const SUMMARY_METRICS = ['dau', 'installs', 'events', 'coins_added', 'last_seen_users'] as const;
export type DailySummary = Record<(typeof SUMMARY_METRICS)[number], number>;

export async function dailySummary(
  warehouse: Warehouse,
  job: EtlJob,
  date: IsoDate,
  context: JobContext,
): Promise<DailySummary> {
  // The summary reads the built-in tables by their names in the config, wherever they are.
  const template = readSqlTemplate('reports/daily_summary.sql');
  const configured = configuredTables(job);
  const missing = placeholders(template).filter((name) => !configured.has(name));
  if (missing.length > 0)
    throw new UsageError(
      `the daily summary needs the ${missing.join(', ')} table(s), which the config does not define`,
    );
  const sql = renderQuery(warehouse, template, '', configured, {}, 'reports/daily_summary.sql');
  const [row] = await warehouse.query(
    sql,
    { date: { type: 'DATE', value: date } },
    { ...context, sqlFile: 'reports/daily_summary.sql' },
  );
  return Object.fromEntries(SUMMARY_METRICS.map((metric) => [metric, Number(row?.[metric] ?? 0)])) as DailySummary;
}
