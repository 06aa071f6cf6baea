/** The headline KPIs of one day, read back from the KPI tables. */
import type { EtlJob } from '../config/etl-config';
import type { IsoDate } from '../dates';
import { UsageError } from '../errors';
import { KPI_TABLES, kpiTable } from '../schema';
import { renderSqlFile } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';

export const SUMMARY_METRICS = ['dau', 'installs', 'events', 'coins_added', 'last_seen_users'] as const;
export type DailySummary = Record<(typeof SUMMARY_METRICS)[number], number>;

export async function dailySummary(warehouse: Warehouse, job: EtlJob, date: IsoDate, context: JobContext): Promise<DailySummary> {
  const tables: Record<string, string> = {};
  for (const name of KPI_TABLES) {
    const config = job.kpis[name];
    if (!config) throw new UsageError(`the daily summary needs the ${name} table, which the config does not define`);
    const table = kpiTable(name, config.dataset_dst);
    tables[name] = warehouse.tableRef(table.dataset, table.table);
  }
  const sql = renderSqlFile('reports/daily_summary.sql', tables);
  const [row] = await warehouse.query(sql, { date: { type: 'DATE', value: date } }, context);
  return Object.fromEntries(SUMMARY_METRICS.map((metric) => [metric, Number(row?.[metric] ?? 0)])) as DailySummary;
}
