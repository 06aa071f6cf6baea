/**
 * Every table daily-kpis reads or writes, declared once. `kpis init`, `load-events`, the ETL and
 * deploy.sh all create tables from these declarations, on BigQuery and on DuckDB.
 */
// Imports nothing of the project: the config, the warehouse port and the adapters all build on it.

/** The types a table's columns may have, as BigQuery names them. */
export const COLUMN_TYPES = ['STRING', 'INT64', 'FLOAT64', 'NUMERIC', 'BOOL', 'DATE', 'TIMESTAMP'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  /** REQUIRED columns reject NULL. */
  required?: boolean;
  description: string;
}

export interface TableSchema {
  dataset: string;
  table: string;
  description: string;
  columns: ColumnSchema[];
  /** DATE or TIMESTAMP column for BigQuery day partitioning. */
  partitionBy?: string;
  clusterBy?: string[];
}

export const SOURCE_COLUMNS: ColumnSchema[] = [
  { name: 'user_id', type: 'STRING', required: true, description: 'App user id.' },
  { name: 'time', type: 'TIMESTAMP', required: true, description: 'When the event happened (UTC).' },
  { name: 'event_name', type: 'STRING', description: 'What happened, e.g. session_start.' },
  { name: 'coins_added', type: 'INT64', description: 'Coins the event added to the balance; NULL or 0 for none.' },
  {
    name: 'platform',
    type: 'STRING',
    description: 'Where the event came from, e.g. ANDROID, IOS, WEB; NULL when unknown.',
  },
  {
    name: 'country',
    type: 'STRING',
    description: "The user's country, e.g. United States (GA4 geo.country); NULL when unknown.",
  },
];

/**
 * Canonical columns a source table may lack (added after the first release): `{{source}}` shows
 * them as NULL on such a table (shared/etl/sources.ts), so a query reading them runs unchanged.
 */
export const OPTIONAL_SOURCE_COLUMNS: readonly string[] = ['platform', 'country'];

/** The raw event table the ETL reads; its location comes from config. */
export function sourceTable(dataset: string, table: string): TableSchema {
  return {
    dataset,
    table,
    description: 'Raw app events, one row per event.',
    columns: SOURCE_COLUMNS,
    partitionBy: 'time',
    clusterBy: ['user_id'],
  };
}

/** What kpiTable reads of a KPI table's config entry (TableDefinition in shared/config/etl-config.ts). */
export interface KpiTableEntry {
  name: string;
  dataset_dst: string;
  description: string;
  columns: ColumnSchema[];
  partition_column: string | null;
  cluster_by: string[];
}

/** A KPI table as the warehouse creates it, from its config entry. */
export function kpiTable(definition: KpiTableEntry): TableSchema {
  return {
    dataset: definition.dataset_dst,
    table: definition.name,
    description: definition.description,
    columns: definition.columns,
    ...(definition.partition_column ? { partitionBy: definition.partition_column } : {}),
    ...(definition.cluster_by.length > 0 ? { clusterBy: definition.cluster_by } : {}),
  };
}

/** The run log, with the seed's columns. */
export const RUN_LOG_TABLE: TableSchema = {
  dataset: 'logs',
  table: 'daily_logs',
  description: 'One row per step of every daily-kpis job run; rows of one run share a uid.',
  columns: [
    { name: 'ts', type: 'TIMESTAMP', required: true, description: 'When the row was written (UTC).' },
    { name: 'dt', type: 'DATE', required: true, description: 'Day of ts (UTC), the partition.' },
    { name: 'uid', type: 'STRING', required: true, description: 'Run id shared by the rows of one run.' },
    { name: 'username', type: 'STRING', description: 'Who or what started the run.' },
    { name: 'job_name', type: 'STRING', required: true, description: 'Job, e.g. daily_kpis.' },
    { name: 'job_type', type: 'STRING', description: 'Kind of job, e.g. etl.' },
    { name: 'file_name', type: 'STRING', description: 'SQL file or module of the step.' },
    { name: 'step_name', type: 'STRING', description: 'Step, e.g. start, installs, end.' },
    { name: 'step_id', type: 'INT64', description: 'Order of the step within the run.' },
    { name: 'log_type', type: 'STRING', required: true, description: 'start, info, end or error.' },
    { name: 'message', type: 'STRING', description: 'What happened, in words.' },
  ],
  partitionBy: 'dt',
  clusterBy: ['job_name'],
};

/**
 * Every alert the monitors raised, one row per alert and channel it went out on. A row is claimed
 * before the alert is sent and marked delivered after, so a monitor that runs twice for the same
 * day (Pub/Sub delivers at least once) sends each alert once, and a claim never marked delivered
 * (a crash between the two) is taken again after a timeout: nothing is lost.
 */
export const ALERTS_TABLE: TableSchema = {
  dataset: 'monitoring',
  table: 'alerts',
  description: 'Alerts raised by the daily-kpis monitors: one row per alert and delivery channel.',
  columns: [
    { name: 'alert_id', type: 'STRING', required: true, description: 'Stable for the same check and date.' },
    { name: 'date', type: 'DATE', required: true, description: 'Day the alert is about (UTC), the partition.' },
    { name: 'channel', type: 'STRING', required: true, description: 'pubsub or slack.' },
    { name: 'claim_id', type: 'STRING', required: true, description: 'The monitor invocation that sent it.' },
    { name: 'kind', type: 'STRING', required: true, description: 'kpi or pipeline.' },
    { name: 'check_name', type: 'STRING', required: true, description: 'The check that raised it, e.g. dau.' },
    { name: 'severity', type: 'STRING', required: true, description: 'warn or error.' },
    { name: 'message', type: 'STRING', description: 'What happened, in words.' },
    { name: 'run_id', type: 'STRING', description: 'Run id of the monitor run.' },
    { name: 'raised_at', type: 'TIMESTAMP', required: true, description: 'When the check raised it.' },
    {
      name: 'sent_at',
      type: 'TIMESTAMP',
      required: true,
      description: 'When it was claimed for sending on this channel.',
    },
    { name: 'payload', type: 'STRING', required: true, description: 'The alert message as published (JSON).' },
    {
      name: 'delivered_at',
      type: 'TIMESTAMP',
      description: 'When the channel took it; NULL while a claim is in flight.',
    },
  ],
  partitionBy: 'date',
  clusterBy: ['alert_id'],
};
