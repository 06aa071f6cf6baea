/** `kpis init`: every dataset and table of the config, created idempotently from schema.ts. */
import type { EtlJob } from '../config/etl-config';
import { KPI_TABLES, kpiTable, RUN_LOG_TABLE, sourceTable, type TableSchema } from '../schema';
import type { Warehouse } from '../warehouse/warehouse';

/** The sources, the KPI tables and the run log, each once. */
export function declaredTables(job: EtlJob): TableSchema[] {
  const tables = new Map<string, TableSchema>();
  const add = (table: TableSchema): void => {
    tables.set(`${table.dataset}.${table.table}`, table);
  };
  for (const name of KPI_TABLES) {
    const config = job.kpis[name];
    if (!config) continue;
    add(sourceTable(config.dataset_src, config.table_src));
    add(kpiTable(name, config.dataset_dst));
  }
  add(RUN_LOG_TABLE);
  return [...tables.values()];
}

export async function initWarehouse(warehouse: Warehouse, job: EtlJob): Promise<TableSchema[]> {
  const tables = declaredTables(job);
  for (const dataset of new Set(tables.map((table) => table.dataset))) await warehouse.ensureDataset(dataset);
  for (const table of tables) await warehouse.ensureTable(table);
  return tables;
}
