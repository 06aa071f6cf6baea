/** `kpis init`: every dataset and table of the config, created idempotently from schema.ts. */
import type { EtlJob } from '../config/etl-config';
import { ALERTS_TABLE, KPI_TABLES, kpiTable, RUN_LOG_TABLE, sourceTable, type TableSchema } from '../schema';
import type { Warehouse } from '../warehouse/warehouse';

/** What a table is for: deploy.sh grants each function access by it. */
export type TableRole = 'source' | 'kpi' | 'run_log' | 'alerts';

/** The sources, the KPI tables, the run log and the alert history, each once. */
export function declaredTables(job: EtlJob): TableSchema[] {
  return tablesWithRoles(job).map(({ table }) => table);
}

export function tablesWithRoles(job: EtlJob): { table: TableSchema; role: TableRole }[] {
  const tables = new Map<string, { table: TableSchema; role: TableRole }>();
  const add = (table: TableSchema, role: TableRole): void => {
    tables.set(`${table.dataset}.${table.table}`, { table, role });
  };
  for (const name of KPI_TABLES) {
    const config = job.kpis[name];
    if (!config) continue;
    add(sourceTable(config.dataset_src, config.table_src), 'source');
    add(kpiTable(name, config.dataset_dst), 'kpi');
  }
  add(RUN_LOG_TABLE, 'run_log');
  add(ALERTS_TABLE, 'alerts');
  return [...tables.values()];
}

export async function initWarehouse(warehouse: Warehouse, job: EtlJob): Promise<TableSchema[]> {
  const tables = declaredTables(job);
  for (const dataset of new Set(tables.map((table) => table.dataset))) await warehouse.ensureDataset(dataset);
  for (const table of tables) await warehouse.ensureTable(table);
  return tables;
}
