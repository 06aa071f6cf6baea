/**
 * `kpis migrate-run-log`: converts a run log of another shape (the cron job's pandas table) to
 * daily-kpis' own. The rows are copied, cast, into a new table created as `kpis init` creates the
 * run log (partitioned by dt, clustered by job_name); the old table is renamed to a backup and the
 * new one takes its name. Nothing is dropped.
 */
import { ConfigError } from '../errors';
import { RUN_LOG_TABLE } from '../schema';
import { renderSqlFile, splitStatements } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import { forgetRunLogShape } from './run-log-shape';

export const MIGRATED_TABLE = `${RUN_LOG_TABLE.table}_migrated`;
export const BACKUP_TABLE = `${RUN_LOG_TABLE.table}_cron_backup`;

export type RunLogMigration =
  | { action: 'none'; reason: string }
  | { action: 'migrated' | 'planned'; converted: string[]; statements: string[]; backup: string };

export async function migrateRunLog(
  warehouse: Warehouse,
  options: { dryRun: boolean },
  context: JobContext,
): Promise<RunLogMigration> {
  const { dataset, table } = RUN_LOG_TABLE;
  const columns = await warehouse.columnsOf(dataset, table);
  if (columns === null)
    return {
      action: 'none',
      reason: `there is no run log ${dataset}.${table} yet: the first run (or \`kpis init\`) creates it in daily-kpis' shape`,
    };
  const types = new Map(columns.map((column) => [column.name, column.type]));
  const missingRequired = RUN_LOG_TABLE.columns
    .filter((column) => column.required && !types.has(column.name))
    .map((column) => column.name);
  if (missingRequired.length > 0)
    throw new ConfigError(
      `${dataset}.${table} lacks ${missingRequired.join(', ')}: there is nothing to convert them from, so it cannot be migrated`,
    );
  const converted = RUN_LOG_TABLE.columns
    .filter((column) => types.get(column.name) !== column.type)
    .map((column) => column.name);
  if (converted.length === 0) return { action: 'none', reason: `${dataset}.${table} is already in daily-kpis' shape` };
  if ((await warehouse.columnsOf(dataset, BACKUP_TABLE)) !== null) {
    throw new ConfigError(
      `${dataset}.${BACKUP_TABLE} exists from an earlier migration: drop or rename it first, so this one can keep the current table as its backup`,
    );
  }
  const statements = migrationStatements(warehouse, types, converted);
  if (options.dryRun) return { action: 'planned', converted, statements, backup: `${dataset}.${BACKUP_TABLE}` };
  await warehouse.ensureTable({ ...RUN_LOG_TABLE, table: MIGRATED_TABLE });
  // Not one transaction: BigQuery runs no DDL (the renames) inside one. The copy is replaced, not
  // appended, so running the command again after a failure midway gives the same table.
  await warehouse.runScript(statements, {}, { ...context, sqlFile: 'logs/migrate_run_log.sql' }, { atomic: false });
  forgetRunLogShape(warehouse);
  return { action: 'migrated', converted, statements, backup: `${dataset}.${BACKUP_TABLE}` };
}

/** The migration's statements: copy every column (cast where its type differs, NULL where missing), keep the old table as the backup. */
function migrationStatements(warehouse: Warehouse, types: Map<string, string>, converted: string[]): string[] {
  const { dataset, table } = RUN_LOG_TABLE;
  const expressions = RUN_LOG_TABLE.columns.map((column) => {
    if (!types.has(column.name)) return `CAST(NULL AS ${column.type}) AS ${column.name}`;
    return converted.includes(column.name) ? `CAST(${column.name} AS ${column.type}) AS ${column.name}` : column.name;
  });
  return splitStatements(
    renderSqlFile('logs/migrate_run_log.sql', {
      daily_logs: warehouse.tableRef(dataset, table),
      migrated: warehouse.tableRef(dataset, MIGRATED_TABLE),
      columns: RUN_LOG_TABLE.columns.map((column) => column.name).join(', '),
      expressions: expressions.join(',\n  '),
      backup_name: BACKUP_TABLE,
      table_name: table,
    }),
  );
}
