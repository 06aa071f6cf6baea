/** `kpis schema`: the BigQuery schema files, listed for deploy.sh. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { asLocalResourceError, UsageError } from '../../shared/errors';
import { tablesReadByChecks, tablesWithRoles, type TableRole } from '../../shared/etl/init';
import type { TableSchema } from '../../shared/schema';
import { namingSettingFiles } from '../../shared/config/validate';
import { loadKpiChecks } from '../../shared/config/kpi-checks';
import { printJson, type Command } from '../command';
import { cliSettings, loadCliJob } from '../context';

export const schemaCommand: Command = {
  summary: 'write the BigQuery schema file of every table, and list them for deploy.sh',
  usage: 'kpis schema --dir DIR [--kpis-config FILE] [--json]',
  details: `Writes DIR/DATASET.TABLE.json (BigQuery schema fields with modes and descriptions) for every
table of the config, the run log and the alert history, and prints one tab-separated line per
table: role (source, reference, kpi, run_log, alerts, check_read), dataset, table, partition column,
clustering columns, description, schema file. check_read lines name the tables the checks of the
kpis config read, which kpi-monitor needs to read. deploy.sh creates the tables (not the
reference and check_read ones) from these with \`bq mk\`, and grants access by role.
  --dir DIR          where to write the schema files (created if missing)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)`,
  options: { dir: { type: 'string' }, 'kpis-config': { type: 'string' } },
  async run(values, _positionals, io) {
    if (typeof values.dir !== 'string') throw new UsageError('schema needs --dir DIR');
    const settings = cliSettings(values, io);
    const job = loadCliJob(settings);
    const checks = namingSettingFiles(settings, () => loadKpiChecks(settings.kpisConfig)).filter(
      (check) => check.isEnable,
    );
    const rows = [...writeSchemaFiles(values.dir, tablesWithRoles(job)), ...checkReadLines(tablesReadByChecks(checks))];
    if (values.json) printJson(io, rows);
    else
      io.stdout(
        rows
          .map((row) =>
            [row.role, row.dataset, row.table, row.partition, row.clustering, row.description, row.file].join('\t'),
          )
          .join('\n') + '\n',
      );
    return 0;
  },
};

/** One line of the listing deploy.sh reads; '-' for none: a shell reading tab-separated fields would merge two tabs into one. */
interface SchemaLine {
  role: TableRole;
  dataset: string;
  table: string;
  partition: string;
  clustering: string;
  description: string;
  file: string;
}

/** Every table's schema file in `dir` (created if missing); a folder it cannot write is said in one line naming --dir. */
function writeSchemaFiles(dir: string, tables: { table: TableSchema; role: TableRole }[]): SchemaLine[] {
  try {
    mkdirSync(dir, { recursive: true });
    return tables.map(({ table, role }) => writeSchemaFile(dir, table, role));
  } catch (error) {
    throw asLocalResourceError(error, `cannot write to ${dir} (--dir)`);
  }
}

/** The table's BigQuery schema file, DIR/DATASET.TABLE.json, and its line. */
function writeSchemaFile(dir: string, table: TableSchema, role: TableRole): SchemaLine {
  const file = path.join(dir, `${table.dataset}.${table.table}.json`);
  const fields = table.columns.map((column) => ({
    name: column.name,
    type: column.type,
    mode: column.required ? 'REQUIRED' : 'NULLABLE',
    description: column.description,
  }));
  writeFileSync(file, `${JSON.stringify(fields, null, 2)}\n`);
  return {
    role,
    dataset: table.dataset,
    table: table.table,
    partition: table.partitionBy ?? '-',
    clustering: table.clusterBy?.join(',') || '-',
    description: table.description,
    file,
  };
}

/** The lines of the tables the checks read (DATASET.TABLE names), with no schema file. */
function checkReadLines(names: Iterable<string>): SchemaLine[] {
  return [...names].map((name) => {
    const [dataset, table] = name.split('.') as [string, string];
    return {
      role: 'check_read',
      dataset,
      table,
      partition: '-',
      clustering: '-',
      description: 'Read by a KPI check.',
      file: '-',
    };
  });
}
