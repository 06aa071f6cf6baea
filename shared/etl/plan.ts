/**
 * Turns the config and a date range into the ETL script: staging per source table, then each KPI
 * table's statements. Pure, so the rendered SQL can be compared with golden files.
 */
import type { EtlJob, KpiConfig } from '../config/etl-config';
import { addDays, startOfDay, type DateRange } from '../dates';
import { UsageError } from '../errors';
import { KPI_TABLES, kpiTable, sourceTable, type KpiTable, type TableSchema } from '../schema';
import { renderSqlFile, splitStatements } from '../sql';
import type { QueryParams, Warehouse } from '../warehouse/warehouse';

export interface EtlPlan {
  /** Staging, then each KPI table's statements. */
  statements: string[];
  params: QueryParams;
  /** Tables the run writes, in order. */
  targets: { kpi: KpiTable; table: TableSchema; sqlFile: string }[];
}

/** The KPIs a run builds: the ones asked for, or every enabled one. */
export function selectKpis(job: EtlJob, requested?: string[]): KpiTable[] {
  const configured = KPI_TABLES.filter((name) => job.kpis[name] !== undefined);
  if (requested === undefined || requested.length === 0) {
    return configured.filter((name) => job.kpis[name]?.isEnable);
  }
  for (const name of requested) {
    if (!configured.includes(name as KpiTable)) {
      throw new UsageError(`unknown KPI ${JSON.stringify(name)}; allowed: ${configured.join(', ')}`);
    }
    if (!job.kpis[name as KpiTable]?.isEnable) throw new UsageError(`KPI ${name} is disabled in the config (isEnable: false)`);
  }
  return KPI_TABLES.filter((name) => requested.includes(name));
}

/** Temp tables of one source's rows in the window; one set per source, so KPIs reading it share the scan. */
function stagedTables(warehouse: Pick<Warehouse, 'tableRef'>, source: TableSchema): Record<string, string> {
  const staged = `staged_${source.dataset}_${source.table}`;
  return { source: warehouse.tableRef(source.dataset, source.table), staged, staged_users: `${staged}_users` };
}

function render(file: string, values: Record<string, string>): string[] {
  return splitStatements(renderSqlFile(file, values));
}

export function planEtl(warehouse: Pick<Warehouse, 'tableRef'>, job: EtlJob, kpis: KpiTable[], range: DateRange): EtlPlan {
  if (kpis.length === 0) throw new UsageError('no KPI to build: every KPI is disabled in the config');
  const sources = new Map<string, TableSchema>();
  const targets: EtlPlan['targets'] = [];
  const kpiStatements: string[] = [];
  for (const kpi of kpis) {
    const config = job.kpis[kpi] as KpiConfig;
    const source = sourceTable(config.dataset_src, config.table_src);
    sources.set(`${source.dataset}.${source.table}`, source);
    const table = kpiTable(kpi, config.dataset_dst);
    const sqlFile = `etl/${kpi}.sql`;
    kpiStatements.push(...render(sqlFile, { ...stagedTables(warehouse, source), target: warehouse.tableRef(table.dataset, table.table) }));
    targets.push({ kpi, table, sqlFile });
  }
  const staging = [...sources.values()].flatMap((source) => render('etl/stage_events.sql', stagedTables(warehouse, source)));
  return {
    statements: [...staging, ...kpiStatements],
    params: {
      start_date: { type: 'DATE', value: range.start },
      end_date: { type: 'DATE', value: range.end },
      start_ts: { type: 'TIMESTAMP', value: startOfDay(range.start) },
      end_ts: { type: 'TIMESTAMP', value: startOfDay(addDays(range.end, 1)) },
    },
    targets,
  };
}
