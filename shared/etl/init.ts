/** `kpis init`: every dataset and table of the config, created idempotently from schema.ts. */
import { configuredTables, type EtlJob } from '../config/etl-config';
import { resolveTableName } from '../config/table-sql';
import { ALERTS_TABLE, kpiTable, RUN_LOG_TABLE, sourceTable, type TableSchema } from '../schema';
import type { KpiCheck } from '../config/kpi-checks';
import { placeholders, readSqlTemplate } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';

/**
 * What a table is for: deploy.sh grants each function access by it. `reference` is a table a
 * table query reads that the project does not write (a dimension table, say): read access only,
 * and it is not created. `check_read` is a table a check query reads: kpi-monitor reads it.
 */
export type TableRole = 'source' | 'reference' | 'kpi' | 'run_log' | 'alerts' | 'check_read';

/** The sources, the KPI tables, the tables their queries read, the run log and the alert history, each once. */
export function tablesWithRoles(job: EtlJob): { table: TableSchema; role: TableRole }[] {
  const tables = new Map<string, { table: TableSchema; role: TableRole }>();
  const add = (table: TableSchema, role: TableRole): void => {
    tables.set(`${table.dataset}.${table.table}`, { table, role });
  };
  const configured = configuredTables(job);
  for (const definition of job.tables) {
    const names = placeholders(definition.query);
    if (names.includes('source') && !definition.ga4)
      add(sourceTable(definition.dataset_src, definition.table_src), 'source');
    // A GA4 export's shards are the export's to create, not ours: only read (deploy.sh grants it).
    if (names.includes('source') && definition.ga4) {
      add(
        {
          dataset: definition.dataset_src,
          table: definition.table_src,
          description: 'The Google Analytics (Firebase) export, read by {{source}}.',
          columns: [],
        },
        'reference',
      );
    }
    add(kpiTable(definition), 'kpi');
  }
  for (const definition of job.tables) {
    for (const name of placeholders(definition.query).filter((n) => n !== 'source')) {
      const [dataset, table] = resolveTableName(name, definition.dataset_dst, configured).split('.') as [
        string,
        string,
      ];
      if (!tables.has(`${dataset}.${table}`))
        add(
          { dataset, table, description: 'Read by a KPI query; not written by daily-kpis.', columns: [] },
          'reference',
        );
    }
  }
  add(RUN_LOG_TABLE, 'run_log');
  add(ALERTS_TABLE, 'alerts');
  return [...tables.values()];
}

/**
 * The tables the checks read (their own table, the tables their SQL names, and the daily user
 * panel of their dataset, which says which days had events), as `dataset.table`, each once.
 */
export function tablesReadByChecks(checks: KpiCheck[]): string[] {
  const names = new Set<string>();
  for (const check of checks) {
    if (check.table_id !== null) names.add(`${check.dataset}.${check.table_id}`);
    for (const name of placeholders(check.query).filter((n) => n !== 'table'))
      names.add(resolveTableName(name, check.dataset, new Map()));
    for (const name of placeholders(readSqlTemplate('monitors/coverage.sql')))
      names.add(resolveTableName(name, check.dataset, new Map()));
  }
  return [...names];
}

export async function initWarehouse(warehouse: Warehouse, job: EtlJob): Promise<TableSchema[]> {
  const tables = tablesWithRoles(job)
    .filter(({ role }) => role !== 'reference')
    .map(({ table }) => table);
  for (const table of tables) await warehouse.ensureTable(table);
  return tables;
}

/**
 * The cron job's `--etl-action delete`: drops the config's KPI tables, so the next run builds them
 * from scratch. Never the source, the run log or the alert history. Returns the tables it dropped.
 */
export async function dropKpiTables(warehouse: Warehouse, job: EtlJob, context: JobContext): Promise<string[]> {
  const names = job.tables.map((table) => `${table.dataset_dst}.${table.name}`);
  const statements = job.tables.map(
    (table) => `DROP TABLE IF EXISTS ${warehouse.tableRef(table.dataset_dst, table.name)}`,
  );
  await warehouse.runScript(statements, {}, context, { atomic: false });
  return names;
}
