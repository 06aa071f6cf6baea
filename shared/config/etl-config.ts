/**
 * The ETL config, config/daily_kpis_config.json, in the seed's shape: a job group holding `kpis`,
 * one entry per KPI table. Every table is a config entry plus a SQL file: the three built-in ones
 * take their SQL, strategy and schema from sql/etl/builtin.json unless the entry gives its own, and
 * any other entry names them itself (README "Adding a KPI").
 */
import path from 'node:path';
import Joi from 'joi';
import { checkTimeZone, DEFAULT_TIME_ZONE } from '../dates';
import { InvalidConfigError } from '../errors';
import { COLUMN_TYPES, type ColumnSchema, type ColumnType } from '../schema';
import { readSqlTemplate, SQL_DIR } from '../sql';
import type { Ga4Source } from '../events/ga4-export';
import { entrySource, groupSourceSchema, type GroupSource } from './source-config';
import { checkPlaceholders, configSqlFile, readQueryFile, resolveTableName } from './table-sql';
import { identifier, loadJsonConfig, oneOf, validateConfig } from './validate';

export const CONFIG_DIR = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../config' : '../../config',
);
export const DEFAULT_ETL_CONFIG = path.join(CONFIG_DIR, 'daily_kpis_config.json');

/** How a run's rows are written, idempotently, inside the run's one transaction. */
export const STRATEGIES = ['replace_days', 'keep_earliest', 'keep_latest'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** One KPI table after defaults: what the planner renders and `kpis init` creates. */
export interface TableDefinition {
  /** The entry's key: the table's name in dataset_dst. */
  name: string;
  dataset_src: string;
  /** The source table; for a GA4 export source, its wildcard table `events_*`. */
  table_src: string;
  /** Set when the source is the GA4 export (the group's `source`, shared/config/source-config.ts). */
  ga4?: Ga4Source;
  dataset_dst: string;
  description: string;
  isEnable: boolean;
  /** The SQL file, absolute; `sqlLabel` is how the config wrote it, for messages. */
  sql: string;
  sqlLabel: string;
  /** The SQL file's query, one SELECT with its placeholders. */
  query: string;
  /** The other configured tables it reads: a run writes them first. */
  reads: string[];
  strategy: Strategy;
  columns: ColumnSchema[];
  /** The DATE column BigQuery partitions by; replace_days replaces the run's days of it. */
  partition_column: string | null;
  /** keep_earliest / keep_latest: the columns that identify a row, and the DATE column that moves. */
  key: string[];
  date_column: string | null;
  cluster_by: string[];
  /**
   * `reads_days_before` (default 0): how many days before its day a row of this table reads (a
   * 30-day MAU reads 29). A run that restates a day also rebuilds the later days this reaches.
   */
  readsDaysBefore: number;
  /**
   * `reads_days_after` (default 0): how many days after its day a row of this table reads (a
   * session that starts at 23:50 is measured up to 00:30: 1). A run that restates a day also
   * rebuilds the earlier days this reaches.
   */
  readsDaysAfter: number;
}

export interface EtlJob {
  /**
   * The job_name in the run log and on BigQuery jobs: the group's key (daily_kpis), unless a
   * crontab line names the job otherwise (--etl-name, see namedJob).
   */
  jobName: string;
  /** The config file, for messages. */
  file: string;
  /** Every table entry in config order, enabled or not. */
  tables: TableDefinition[];
  /** The business day's IANA zone (`time_zone`, default UTC): a KPI day is a calendar day there. */
  timeZone: string;
  /**
   * `restate_days` (default 7; 0 off): each run also rebuilds the earlier days, up to this many
   * before its range, whose source changed since they were built. Absent in a hand-made job: off.
   */
  restateDays?: number;
  /**
   * `source_freshness_hours` (default 6; 0 off): a run whose source's newest event is older than
   * this says so on its end row, and the log monitor raises source_stale. Absent in a hand-made job: off.
   */
  sourceFreshnessHours?: number;
}

/** Up to a year: older than that, an event table is no longer being fed. */
export const SOURCE_FRESHNESS_HOURS = { default: 6, max: 8760 } as const;

const freshnessRule = `{{#label}} must be a number of hours from 0 (off) to ${SOURCE_FRESHNESS_HOURS.max}, got {{#value}}`;
const sourceFreshnessHours = Joi.number().min(0).max(SOURCE_FRESHNESS_HOURS.max).messages({
  'number.base': freshnessRule,
  'number.min': freshnessRule,
  'number.max': freshnessRule,
  'number.infinity': freshnessRule,
});

/** Up to a quarter back: the change check reads this many days of metadata or fingerprints each run. */
export const RESTATE_DAYS = { default: 7, max: 92 } as const;

const restateDays = Joi.number()
  .integer()
  .min(0)
  .max(RESTATE_DAYS.max)
  .messages({
    'number.base': `{{#label}} must be a whole number of days from 0 (off) to ${RESTATE_DAYS.max}, got {{#value}}`,
    'number.integer': `{{#label}} must be a whole number of days from 0 (off) to ${RESTATE_DAYS.max}, got {{#value}}`,
    'number.min': `{{#label}} must be a whole number of days from 0 (off) to ${RESTATE_DAYS.max}, got {{#value}}`,
    'number.max': `{{#label}} must be a whole number of days from 0 (off) to ${RESTATE_DAYS.max}, got {{#value}}`,
  });

/** Up to a year back: further than any window a daily KPI reads. */
export const READS_DAYS_BEFORE = { max: 366 } as const;

/** A whole number of days from 0 to `max`, its error naming what the field counts. */
function readsDays(max: number, what: string) {
  const rule = `{{#label}} must be a whole number of days from 0 to ${max}: ${what}, got {{#value}}`;
  return Joi.number().integer().min(0).max(max).messages({
    'number.base': rule,
    'number.integer': rule,
    'number.min': rule,
    'number.max': rule,
    'number.infinity': rule,
  });
}

const readsDaysBefore = readsDays(READS_DAYS_BEFORE.max, 'how many days before its day a row reads');

/** Up to a year ahead, as reads_days_before: a cohort's row may read its year. */
export const READS_DAYS_AFTER = { max: 366 } as const;

const readsDaysAfter = readsDays(READS_DAYS_AFTER.max, 'how many days after its day a row reads');

const columnType = oneOf(COLUMN_TYPES);

/** A schema: column -> type, or column -> {type, description, required}, in order. */
const NAME_RULE = 'names are letters, digits and underscores, starting with a letter or underscore';
const schemaSchema = Joi.object()
  .pattern(
    identifier,
    Joi.alternatives().conditional(Joi.string(), {
      then: columnType,
      otherwise: Joi.object({
        type: columnType.required(),
        description: Joi.string().allow(''),
        required: Joi.boolean(),
      }),
    }),
  )
  .min(1)
  .messages({ 'object.unknown': `{{#label}} is not a column name: ${NAME_RULE}` });

const columnList = Joi.alternatives().try(identifier, Joi.array().items(identifier).min(1));

const tableEntrySchema = Joi.object({
  // Defaults after the group's source (source-config.ts): gamepltx.fact.
  dataset_src: identifier,
  table_src: identifier,
  dataset_dst: identifier.default('daily_kpis'),
  description: Joi.string().allow('').default(''),
  isEnable: Joi.boolean().default(true),
  sql: Joi.string().min(1),
  strategy: oneOf(STRATEGIES),
  schema: schemaSchema,
  partition_column: identifier,
  key: columnList,
  date_column: identifier,
  cluster_by: columnList,
  reads_days_before: readsDaysBefore,
  reads_days_after: readsDaysAfter,
});

export const etlConfigSchema = Joi.object()
  .pattern(
    identifier,
    Joi.object({
      time_zone: Joi.string()
        .custom((value: string) => checkTimeZone(value))
        .messages({ 'any.custom': '{{#label}}: {{#error.message}}' }),
      restate_days: restateDays,
      source: groupSourceSchema,
      source_freshness_hours: sourceFreshnessHours,
      kpis: Joi.object()
        .pattern(identifier, tableEntrySchema)
        .min(1)
        .required()
        .messages({ 'object.unknown': `{{#label}} is not a table name: ${NAME_RULE}` }),
    }),
  )
  .length(1)
  .messages({ 'object.length': 'must hold exactly one job group, such as daily_kpis, holding kpis' });

type TableEntry = {
  dataset_src?: string;
  table_src?: string;
  dataset_dst: string;
  description: string;
  isEnable: boolean;
  sql?: string;
  strategy?: Strategy;
  schema?: Record<string, ColumnType | { type: ColumnType; description?: string; required?: boolean }>;
  partition_column?: string;
  key?: string | string[];
  date_column?: string;
  cluster_by?: string | string[];
  reads_days_before?: number;
  reads_days_after?: number;
};

/** The built-in tables' definitions: the same fields a user-defined entry gives, with SQL under sql/etl/. */
const BUILTIN_FILE = path.join(SQL_DIR, 'etl', 'builtin.json');
let builtins: Map<string, Partial<TableEntry>> | undefined;

/** By name, in a Map: an entry named toString is not a built-in table. */
function builtinTables(): Map<string, Partial<TableEntry>> {
  builtins ??= new Map(
    Object.entries(
      validateConfig(
        JSON.parse(readSqlTemplate('etl/builtin.json')) as unknown,
        Joi.object().pattern(identifier, tableEntrySchema),
        BUILTIN_FILE,
      ) as Record<string, Partial<TableEntry>>,
    ),
  );
  return builtins;
}

/** The job's GA4 export source, when its group reads one (`"source": {"format": "ga4_export", ...}`). */
export function ga4SourceOf(job: EtlJob): Ga4Source | undefined {
  return job.tables.find((table) => table.ga4)?.ga4;
}

/** The names of the built-in tables, for messages and docs. */
export function builtinTableNames(): string[] {
  return [...builtinTables().keys()];
}

export function loadEtlConfig(file: string = DEFAULT_ETL_CONFIG): EtlJob {
  type Group = {
    kpis: Record<string, TableEntry>;
    time_zone?: string;
    restate_days?: number;
    source_freshness_hours?: number;
    source?: GroupSource;
  };
  const config = loadJsonConfig<Record<string, Group>>(file, etlConfigSchema);
  const [jobName, group] = Object.entries(config)[0] as [string, Group];
  const specs = Object.entries(group.kpis).map(([name, entry]) => tableSpec(name, entry, file, group.source));
  return {
    jobName,
    file,
    tables: linkTables(specs, file),
    timeZone: group.time_zone ?? DEFAULT_TIME_ZONE,
    restateDays: group.restate_days ?? RESTATE_DAYS.default,
    sourceFreshnessHours: group.source_freshness_hours ?? SOURCE_FRESHNESS_HOURS.default,
  };
}

/**
 * The job under the name a crontab line gives it (`--etl-name`): the run log records that name,
 * as the cron job's script did, whatever the config's group is called. The config holds one
 * group, so the name never selects another one.
 */
export function namedJob(job: EtlJob, name: string | undefined): EtlJob {
  return name === undefined ? job : { ...job, jobName: name };
}

/** The dataset the job writes, its first table's: a log check without job_name finds the ETL's runs by it. */
export function etlDataset(job: Pick<EtlJob, 'tables'>): string {
  return (job.tables.find((table) => table.isEnable) ?? job.tables[0])?.dataset_dst ?? 'daily_kpis';
}

/** `dataset.table` of every configured table, by entry name. */
export function configuredTables(job: {
  tables: readonly Pick<TableDefinition, 'name' | 'dataset_dst'>[];
}): Map<string, string> {
  return new Map(job.tables.map((table) => [table.name, `${table.dataset_dst}.${table.name}`]));
}

/** A table entry checked and after defaults, before its query is read: what linkTables completes. */
type TableSpec = Omit<TableDefinition, 'query' | 'reads'>;

/** Reads each table's query, finds what it reads, and rejects cycles and reads of disabled tables. */
function linkTables(specs: TableSpec[], file: string): TableDefinition[] {
  const configured = configuredTables({ tables: specs });
  const byQualified = new Map(specs.map((table) => [`${table.dataset_dst}.${table.name}`, table.name]));
  const tables = specs.map((spec): TableDefinition => {
    const location = { file, path: `$.kpis.${spec.name}`, sqlLabel: spec.sqlLabel };
    const query = readQueryFile(spec.sql, location);
    const names = checkPlaceholders(query, location, ['source']).filter((name) => name !== 'source');
    const reads = names
      .map((name) => byQualified.get(resolveTableName(name, spec.dataset_dst, configured)))
      .filter((name): name is string => name !== undefined && name !== spec.name);
    return { ...spec, query, reads: [...new Set(reads)] };
  });
  checkEnabledReads(tables, file);
  orderByDependencies(tables, file);
  return tables;
}

/** An enabled table cannot read a disabled one: a run would read rows nobody writes. */
function checkEnabledReads(tables: TableDefinition[], file: string): void {
  const byName = new Map(tables.map((table) => [table.name, table]));
  for (const table of tables.filter((t) => t.isEnable)) {
    const disabled = table.reads.filter((name) => !byName.get(name)?.isEnable);
    if (disabled.length === 0) continue;
    const [verb, pronoun] = disabled.length === 1 ? ['is', 'it'] : ['are', 'them'];
    throw new InvalidConfigError(file, {
      path: `$.kpis.${table.name}`,
      problem: `reads ${disabled.join(', ')}, which ${verb} disabled (isEnable: false): enable ${pronoun} or disable ${table.name}`,
    });
  }
}

/** The tables in an order where each comes after what it reads (config order otherwise); a cycle is a config error. */
export function orderByDependencies<T extends Pick<TableDefinition, 'name' | 'reads'>>(tables: T[], file: string): T[] {
  const selected = new Map(tables.map((table) => [table.name, table]));
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (table: T, trail: string[]): void => {
    if (state.get(table.name) === 'done') return;
    if (state.get(table.name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(table.name)), table.name];
      throw new InvalidConfigError(file, {
        path: '$.kpis',
        problem: `the tables ${cycle.join(' -> ')} read each other in a cycle; a run could not write either first`,
      });
    }
    state.set(table.name, 'visiting');
    for (const name of table.reads) {
      const dependency = selected.get(name);
      if (dependency) visit(dependency, [...trail, table.name]);
    }
    state.set(table.name, 'done');
    ordered.push(table);
  };
  for (const table of tables) visit(table, []);
  return ordered;
}

/** Reports a problem at one field of a table entry (the entry itself when field is ''). */
type FieldFail = (field: string, problem: string) => never;

function tableSpec(name: string, entry: TableEntry, file: string, source?: GroupSource): TableSpec {
  const fail: FieldFail = (field, problem) => {
    throw new InvalidConfigError(file, { path: `$.kpis.${name}${field ? `.${field}` : ''}`, problem });
  };
  const { merged, builtin } = mergedEntry(name, entry, fail);
  const { sql, sqlLabel } = sqlFileOf(merged, builtin === undefined, file, fail);
  if (!merged.strategy) fail('strategy', `is required; one of ${STRATEGIES.join(', ')}`);
  const columns = columnsOf(merged.schema, fail);
  const check = columnCheck(columns, fail);
  const strategy = merged.strategy;
  const keys = STRATEGY_RULES[strategy](merged, check, strategy);
  const clusterBy = asList(merged.cluster_by);
  for (const column of clusterBy) check.exists('cluster_by', column);
  return {
    name,
    ...entrySource(entry, source, fail),
    dataset_dst: entry.dataset_dst,
    description: entry.description || (builtin?.description ?? ''),
    isEnable: entry.isEnable,
    sql,
    sqlLabel,
    strategy,
    columns,
    ...keys,
    cluster_by: clusterBy,
    readsDaysBefore: merged.reads_days_before ?? 0,
    readsDaysAfter: merged.reads_days_after ?? 0,
  };
}

/**
 * The entry with a built-in table's fields under it. A built-in entry either keeps every built-in
 * field or gives its own SQL, strategy and schema; `builtin` is set only when it keeps them.
 */
function mergedEntry(
  name: string,
  entry: TableEntry,
  fail: FieldFail,
): { merged: TableEntry; builtin?: Partial<TableEntry> } {
  if (entry.sql !== undefined) return { merged: entry };
  const builtin = builtinTables().get(name);
  if (!builtin) {
    fail(
      'sql',
      `is required: ${name} is not a built-in table (${builtinTableNames().join(', ')}), so the entry names its SQL file, strategy and schema`,
    );
  }
  return { merged: { ...builtin, ...entry }, builtin };
}

/** The SQL file, absolute, and as messages name it: built-in files from sql/ (etl/installs.sql), the user's as the config wrote them. */
function sqlFileOf(
  merged: TableEntry,
  custom: boolean,
  file: string,
  fail: FieldFail,
): { sql: string; sqlLabel: string } {
  const written = merged.sql as string;
  if (custom) return { sql: configSqlFile(file, written, (problem) => fail('sql', problem)), sqlLabel: written };
  const sql = path.join(SQL_DIR, 'etl', written);
  return { sql, sqlLabel: path.relative(SQL_DIR, sql) };
}

function columnsOf(schema: TableEntry['schema'], fail: FieldFail): ColumnSchema[] {
  if (!schema)
    fail(
      'schema',
      `is required: the columns the query returns, in order, e.g. {"date": "DATE", "payers": "INT64"}; types ${COLUMN_TYPES.join(', ')}`,
    );
  return Object.entries(schema).map(([column, spec]): ColumnSchema => {
    const typed = typeof spec === 'string' ? { type: spec } : spec;
    return {
      name: column,
      type: typed.type,
      description: typed.description ?? '',
      ...(typed.required ? { required: true } : {}),
    };
  });
}

/** Checks that a field names a column of the schema, and that it is a DATE column. */
interface ColumnCheck {
  fail: FieldFail;
  exists(field: string, column: string): void;
  isDate(field: string, column: string, why?: string): void;
}

function columnCheck(columns: ColumnSchema[], fail: FieldFail): ColumnCheck {
  const types = new Map(columns.map((column) => [column.name, column.type]));
  const exists = (field: string, column: string): void => {
    if (!types.has(column))
      fail(field, `${JSON.stringify(column)} is not a column of the schema (${[...types.keys()].join(', ')})`);
  };
  const isDate = (field: string, column: string, why = ''): void => {
    if (types.get(column) !== 'DATE') fail(field, `${column} must be a DATE column${why}`);
  };
  return { fail, exists, isDate };
}

type StrategyKeys = Pick<TableDefinition, 'partition_column' | 'key' | 'date_column'>;

/**
 * What each strategy needs to know which rows a run writes. replace_days replaces the run's days of
 * a DATE partition column (default `date`); keep_earliest / keep_latest merge on `key` and move
 * `date_column` only earlier / later, with a partition column optional (only how BigQuery
 * partitions the table: installs by install_date).
 */
const STRATEGY_RULES: Record<Strategy, (entry: TableEntry, check: ColumnCheck, strategy: Strategy) => StrategyKeys> = {
  replace_days: (entry, check) => {
    const partition = entry.partition_column ?? 'date';
    check.exists('partition_column', partition);
    check.isDate('partition_column', partition, ': a run replaces its days');
    return { partition_column: partition, key: [], date_column: null };
  },
  keep_earliest: (entry, check, strategy) => keepKeys(entry, check, strategy, 'earlier'),
  keep_latest: (entry, check, strategy) => keepKeys(entry, check, strategy, 'later'),
};

function keepKeys(entry: TableEntry, check: ColumnCheck, strategy: Strategy, moves: 'earlier' | 'later'): StrategyKeys {
  const partition = entry.partition_column ?? null;
  if (partition !== null) {
    check.exists('partition_column', partition);
    check.isDate('partition_column', partition);
  }
  const key = asList(entry.key);
  if (key.length === 0) check.fail('key', `is required for ${strategy}: the column or columns that identify one row`);
  for (const column of key) check.exists('key', column);
  const dateColumn = entry.date_column;
  if (dateColumn === undefined)
    return check.fail('date_column', `is required for ${strategy}: the DATE column that only moves ${moves}`);
  check.exists('date_column', dateColumn);
  if (key.includes(dateColumn))
    check.fail('date_column', `${dateColumn} is part of the key; it must be another column`);
  check.isDate('date_column', dateColumn);
  return { partition_column: partition, key, date_column: dateColumn };
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
