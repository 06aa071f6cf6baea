/**
 * The production warehouse: BigQuery through @google-cloud/bigquery. The client comes from the
 * caller (see factory.ts), so tests hand it one that points at a local fake of the REST API.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BigQueryTimestamp,
  type BigQuery,
  type Job,
  type JobLoadMetadata,
  type Query,
  type TableField,
} from '@google-cloud/bigquery';
import { QueryError, TableNotFoundError, UsageError, WarehouseError } from '../errors';
import { shardRanges, versionsByDay } from '../events/ga4-export';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { CONCURRENCY_RETRY, DEFAULT_RETRY, type RetryPolicy, withRetry } from '../retry';
import type { TableSchema } from '../schema';
import { addDays, daysBetween, startOfDayIn, toIsoDate, type DateRange, type IsoDate } from '../dates';
import { describeStatement, isReadOnly, renderSqlFile } from '../sql';
import { canonicalTimestamp, timestampMicros } from '../timestamps';
import type {
  Cell,
  ColumnInfo,
  DryRunResult,
  JobContext,
  QueryParam,
  QueryParams,
  QueryShape,
  Row,
  SourceRef,
  Warehouse,
} from './warehouse';

export interface BigQueryWarehouseOptions {
  projectId: string;
  /** Dataset and job location, e.g. 'US' or 'europe-west1'. */
  location: string;
  /** Every query job fails instead of billing more than this; undefined leaves the project's default. */
  maximumBytesBilled?: number;
  retry?: RetryPolicy;
  /** Retries of a transaction another one aborted (default CONCURRENCY_RETRY: minutes, not seconds). */
  concurrencyRetry?: RetryPolicy;
  logger?: Logger;
}

/** The project's names for the legacy type names a REST schema still reports (INTEGER, FLOAT, BOOLEAN); BIGNUMERIC reads as NUMERIC. */
const LEGACY_TYPES = new Map([
  ['INTEGER', 'INT64'],
  ['FLOAT', 'FLOAT64'],
  ['BOOLEAN', 'BOOL'],
  ['BIGNUMERIC', 'NUMERIC'],
]);

/** A schema field's type in the project's names (shared/warehouse/warehouse.ts ColumnInfo). */
function columnInfo(field: TableField): ColumnInfo {
  const type = String(field.type).toUpperCase();
  return { name: String(field.name), type: LEGACY_TYPES.get(type) ?? type };
}

/** Generations of one write's job id before giving up: each is a job that ran and failed. */
const MAX_JOB_GENERATIONS = 50;

/** HTTP statuses and BigQuery error reasons that say "try again later". */
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
const TRANSIENT_REASONS = new Set([
  'rateLimitExceeded',
  'backendError',
  'internalError',
  'jobRateLimitExceeded',
  'jobBackendError',
]);
const CONCURRENT_UPDATE = /concurrent update|aborted due to concurrent/i;
const TRANSIENT_MESSAGE = new RegExp(`${CONCURRENT_UPDATE.source}|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up`, 'i');

/** A transaction that another one on the same table aborted: worth waiting minutes for. */
function isConcurrentUpdate(error: unknown): boolean {
  const api = error as ApiErrorLike;
  return (
    CONCURRENT_UPDATE.test(api?.message ?? '') ||
    Boolean(api?.errors?.some((detail) => CONCURRENT_UPDATE.test(detail.message ?? '')))
  );
}

interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  response?: { status?: { errorResult?: unknown } };
}

export function isTransientBigQueryError(error: unknown): boolean {
  if (error instanceof WarehouseError) return error.transient;
  const api = error as ApiErrorLike;
  if (typeof api?.code === 'number' && TRANSIENT_STATUS.has(api.code)) return true;
  return (
    transientDetail(api) ||
    TRANSIENT_MESSAGE.test(api?.message ?? '') ||
    (typeof api?.code === 'string' && TRANSIENT_MESSAGE.test(api.code))
  );
}

/** One of the error's details has a transient reason or message. */
function transientDetail(api: ApiErrorLike | undefined): boolean {
  return Boolean(
    api?.errors?.some(
      (detail) => TRANSIENT_REASONS.has(detail.reason ?? '') || TRANSIENT_MESSAGE.test(detail.message ?? ''),
    ),
  );
}

/** Label values allow lowercase letters, digits, '_' and '-', up to 63 characters. */
function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

/**
 * A SQL file as a label value: `monitors/coverage.sql` -> `monitors-coverage`. Folders become `-`,
 * anything else outside the label alphabet `_`; a name too long keeps its end, the file's own name.
 */
export function sqlFileLabel(file: string): string {
  return labelValue(
    file
      .replace(/\.sql$/i, '')
      .replace(/\//g, '-')
      .slice(-63),
  );
}

export class BigQueryWarehouse implements Warehouse {
  readonly engine = 'bigquery';
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  /** Datasets and tables known to exist, so a warm function instance does not ask again each run. */
  private readonly ensured = new Set<string>();

  constructor(
    private readonly client: BigQuery,
    private readonly options: BigQueryWarehouseOptions,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.logger = options.logger ?? silentLogger;
  }

  tableRef(dataset: string, table: string): string {
    return `\`${this.options.projectId}.${dataset}.${table}\``;
  }

  async query(sql: string, params: QueryParams, context: JobContext): Promise<Row[]> {
    return this.runJob(sql, params, context);
  }

  async runScript(
    statements: string[],
    params: QueryParams,
    context: JobContext,
    options: { atomic: boolean },
  ): Promise<void> {
    await this.runJob(this.renderScript(statements, options), params, context);
  }

  async dryRunScript(statements: string[], params: QueryParams, context: JobContext): Promise<DryRunResult> {
    const job = await this.dryRun(this.renderScript(statements, { atomic: true }), params, context).catch(
      (error: unknown) => {
        throw this.wrap(error, 'dry run');
      },
    );
    return { bytesProcessed: bytesOf(job) };
  }

  /** A dry-run job: BigQuery validates the SQL and estimates what it would read, running nothing. */
  private async dryRun(sql: string, params: QueryParams, context: JobContext): Promise<Job> {
    const [job] = await withRetry(
      () => this.client.createQueryJob({ ...this.jobRequest(sql, params, context), dryRun: true }),
      isTransientBigQueryError,
      this.retry,
    );
    return job;
  }

  async describeQuery(sql: string, params: QueryParams, context: JobContext): Promise<QueryShape> {
    let job: Job;
    try {
      job = await this.dryRun(sql, params, context);
    } catch (error) {
      if (isTransientBigQueryError(error)) throw this.wrap(error, 'dry run');
      const message = errorMessage(error);
      const at = /\[(\d+):(\d+)\]/.exec(message);
      throw new QueryError(`BigQuery rejected the query: ${message}`, {
        cause: error,
        position: at ? { line: Number(at[1]), column: Number(at[2]) } : null,
      });
    }
    const fields = (job.metadata?.statistics?.query?.schema?.fields ?? []) as TableField[];
    return { columns: fields.map(columnInfo), bytesProcessed: bytesOf(job) };
  }

  /** A multi-statement query; BEGIN/COMMIT TRANSACTION makes it all-or-nothing across tables. */
  renderScript(statements: string[], options: { atomic: boolean }): string {
    const body = statements.map((statement) => `${statement};`);
    return (options.atomic ? ['BEGIN TRANSACTION;', ...body, 'COMMIT TRANSACTION;'] : body).join('\n\n') + '\n';
  }

  /**
   * Each day's newest partition change (sql/etl/source_partitions.sql): metadata only, no event
   * bytes. A KPI day in a zone other than UTC spans two UTC day partitions; either one counts.
   */
  async sourceVersions(
    source: SourceRef,
    range: DateRange,
    timeZone: string,
    context: JobContext,
  ): Promise<Map<IsoDate, string>> {
    if (source.table.endsWith('*')) return this.shardVersions(source, range, context);
    const from = startOfDayIn(range.start, timeZone);
    const to = startOfDayIn(addDays(range.end, 1), timeZone);
    const compact = (instant: Date) => toIsoDate(instant).replaceAll('-', '');
    const sql = renderSqlFile('etl/source_partitions.sql', {
      partitions: this.tableRef(source.dataset, 'INFORMATION_SCHEMA.PARTITIONS'),
    });
    const rows = await this.query(
      sql,
      {
        table_name: { type: 'STRING', value: source.table },
        first_partition: { type: 'STRING', value: compact(from) },
        last_partition: { type: 'STRING', value: `${compact(new Date(to.getTime() - 1))}99` },
      },
      { ...context, sqlFile: 'etl/source_partitions.sql' },
    );
    const partitions = rows.map((row) => ({
      span: partitionSpan(row.partition_id as string | null),
      modified: canonicalTimestamp(row.last_modified_time as string | Date),
    }));
    const versions = new Map<IsoDate, string>();
    for (const day of daysBetween(range.start, range.end)) {
      const start = startOfDayIn(day, timeZone).getTime();
      const end = startOfDayIn(addDays(day, 1), timeZone).getTime();
      const newest = partitions
        .filter(({ span }) => span === null || (span.start < end && span.end > start))
        .map(({ modified }) => modified)
        .sort((a, b) => (timestampMicros(a) < timestampMicros(b) ? -1 : 1))
        .pop();
      if (newest !== undefined) versions.set(day, `partitions modified ${newest}`);
    }
    return versions;
  }

  /**
   * The count and newest time of each day's events timed before `before` (sql/etl/source_events_before.sql):
   * reads the time column of the range's partitions, at least 10 MB billed. Null for a wildcard source.
   */
  async sourceVersionsBefore(
    source: SourceRef,
    range: DateRange,
    before: Date,
    timeZone: string,
    context: JobContext,
  ): Promise<Map<IsoDate, string> | null> {
    if (source.table.endsWith('*')) return null;
    const rows = await this.query(
      renderSqlFile('etl/source_events_before.sql', { source: this.tableRef(source.dataset, source.table) }),
      {
        start_ts: { type: 'TIMESTAMP', value: startOfDayIn(range.start, timeZone) },
        end_ts: { type: 'TIMESTAMP', value: startOfDayIn(addDays(range.end, 1), timeZone) },
        before: { type: 'TIMESTAMP', value: before },
        time_zone: { type: 'STRING', value: timeZone },
      },
      { ...context, sqlFile: 'etl/source_events_before.sql' },
    );
    return new Map(
      rows.map((row) => [
        String(row.day),
        `${String(row.events)} events, newest ${canonicalTimestamp(row.newest as string | Date)}`,
      ]),
    );
  }

  /** A wildcard source's shards' last_modified_time (sql/etl/shard_versions.sql, the dataset's __TABLES__), as each day's version. */
  private async shardVersions(source: SourceRef, range: DateRange, context: JobContext): Promise<Map<IsoDate, string>> {
    const prefix = source.table.slice(0, -1);
    const [[first, last], [firstIntraday, lastIntraday]] = shardRanges(range) as [[string, string], [string, string]];
    const text = (value: string): QueryParam => ({ type: 'STRING', value: `${prefix}${value}` });
    const rows = await this.query(
      renderSqlFile('etl/shard_versions.sql', { tables: this.tableRef(source.dataset, '__TABLES__') }),
      {
        first_shard: text(first),
        last_shard: text(last),
        first_intraday: text(firstIntraday),
        last_intraday: text(lastIntraday),
      },
      { ...context, sqlFile: 'etl/shard_versions.sql' },
    );
    const shards = rows.map((row) => ({
      suffix: String(row.table_id).slice(prefix.length),
      stamp: `modified ${new Date(Number(row.last_modified_time)).toISOString()}`,
    }));
    return versionsByDay(shards, range);
  }

  /** BigQuery's own wildcard table: the query's `_TABLE_SUFFIX` filter picks the shards it scans. */
  wildcardTable(dataset: string, prefix: string): Promise<string> {
    return Promise.resolve(this.tableRef(dataset, `${prefix}*`));
  }

  unnestAs(array: string, alias: string): string {
    return `UNNEST(${array}) AS ${alias}`;
  }

  replaceFromJsonLines(dataset: string): Promise<Map<string, number>> {
    return Promise.reject(
      new UsageError(
        `loading a GA4 export file into ${dataset} is for the embedded warehouse: on BigQuery the export writes its own tables (Firebase console, Project settings, Integrations, BigQuery)`,
      ),
    );
  }

  /** Creates the dataset if missing, in the warehouse's location; ensureTable calls it first. */
  async ensureDataset(dataset: string): Promise<void> {
    if (this.ensured.has(dataset)) return;
    const ref = this.client.dataset(dataset, { location: this.options.location });
    const [exists] = await this.api(`look up dataset ${dataset}`, () => ref.exists());
    if (!exists)
      await this.api(`create dataset ${dataset}`, () =>
        ref.create({ location: this.options.location }).catch(ignoreAlreadyExists),
      );
    this.ensured.add(dataset);
  }

  async columnsOf(dataset: string, table: string): Promise<ColumnInfo[] | null> {
    const ref = this.client.dataset(dataset, { location: this.options.location }).table(table);
    // One request: the table's metadata, or a 404 that says it does not exist.
    const metadata = await withRetry(() => ref.getMetadata(), isTransientBigQueryError, this.retry).then(
      ([found]) => found as unknown,
      (error: unknown) => {
        if (isNotFound(error)) return null;
        throw this.wrap(error, `read the schema of ${dataset}.${table}`);
      },
    );
    if (metadata === null) return null;
    const fields = ((metadata as { schema?: { fields?: TableField[] } }).schema?.fields ?? []) as TableField[];
    return fields.map(columnInfo);
  }

  async ensureTable(table: TableSchema): Promise<void> {
    const key = `${table.dataset}.${table.table}`;
    if (this.ensured.has(key)) return;
    await this.ensureDataset(table.dataset);
    const dataset = this.client.dataset(table.dataset, { location: this.options.location });
    const [exists] = await this.api(`look up table ${key}`, () => dataset.table(table.table).exists());
    if (exists) {
      this.ensured.add(key);
      return;
    }
    const fields: TableField[] = table.columns.map((column) => ({
      name: column.name,
      type: column.type,
      mode: column.required ? 'REQUIRED' : 'NULLABLE',
      description: column.description,
    }));
    const metadata = {
      description: table.description,
      schema: { fields },
      ...(table.partitionBy ? { timePartitioning: { type: 'DAY', field: table.partitionBy } } : {}),
      ...(table.clusterBy ? { clustering: { fields: table.clusterBy } } : {}),
    };
    await this.api(`create table ${key}`, () => dataset.createTable(table.table, metadata).catch(ignoreAlreadyExists));
    this.ensured.add(key);
  }

  /** A load job from a temporary newline-delimited JSON file: atomic, and free of DML quotas. */
  async appendRows(table: TableSchema, rows: Row[], context: JobContext): Promise<number> {
    const folder = mkdtempSync(path.join(tmpdir(), 'kpis-load-'));
    const file = path.join(folder, `${table.table}.jsonl`);
    try {
      const line = jsonLine(table);
      writeFileSync(file, rows.map(line).join(''));
      return await this.load(table, file, 'NEWLINE_DELIMITED_JSON', context);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /** The batches written to a temporary newline-delimited JSON file as they come, then one load job (the client streams the file up). */
  async appendBatches(table: TableSchema, batches: AsyncIterable<Row[]>, context: JobContext): Promise<number> {
    const folder = mkdtempSync(path.join(tmpdir(), 'kpis-load-'));
    const file = path.join(folder, `${table.table}.jsonl`);
    try {
      const out = createWriteStream(file);
      const line = jsonLine(table);
      let written = 0;
      try {
        for await (const rows of batches) {
          written += rows.length;
          if (!out.write(rows.map(line).join(''))) await once(out, 'drain');
        }
      } finally {
        out.end();
        await finished(out);
      }
      return written === 0 ? 0 : await this.load(table, file, 'NEWLINE_DELIMITED_JSON', context);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /** BigQuery's CSV load has rules of its own and names problems by byte offset: the caller checks the file and appends its batches. */
  appendCsvFile(): Promise<number | null> {
    return Promise.resolve(null);
  }

  appendParquet(table: TableSchema, file: string, context: JobContext): Promise<number> {
    return this.load(table, file, 'PARQUET', context);
  }

  async close(): Promise<void> {
    // The REST client holds no connection to close.
  }

  private async load(table: TableSchema, file: string, sourceFormat: string, context: JobContext): Promise<number> {
    // Not retried: a load whose response was lost may have landed, and a second would append twice.
    const [job] = await this.client
      .dataset(table.dataset)
      .table(table.table)
      .load(file, { sourceFormat, writeDisposition: 'WRITE_APPEND', labels: this.labels(context) } as JobLoadMetadata)
      .catch((error: unknown) => {
        throw this.wrap(error, `load into ${table.dataset}.${table.table}`);
      });
    return Number(job.statistics?.load?.outputRows ?? 0);
  }

  /**
   * Runs one query job to completion, retrying transient failures.
   *
   * A read gets a fresh job id every time: its answer must be today's, never a stale job's. A write
   * gets an id derived from its work (the context's workKey, else its SQL and parameters): when a
   * response is lost, or Pub/Sub delivers the message again, BigQuery answers 409 and we re-attach
   * to the job already running or done instead of running the statement twice. A job under that id
   * that ended in error is passed over for the next generation (`_gN`), so a write that failed once
   * runs again once its cause is fixed.
   */
  private async runJob(sql: string, params: QueryParams, context: JobContext): Promise<Row[]> {
    const base = isReadOnly(sql)
      ? `${this.jobIdPrefix(context)}_read_${randomUUID().replaceAll('-', '')}`
      : this.writeJobIdBase(context, sql, params);
    const state = { generation: 0 };
    return withRetry(
      async () => {
        const job = await this.insertOrAttach(base, state, sql, params, context);
        try {
          const [rows] = await job.getQueryResults({ location: this.options.location });
          return rows.map(normalizeRow);
        } catch (error) {
          // A lost results response is not a failed job: only a job that ended in error gets a new id.
          if (await this.jobEndedInError(job)) state.generation += 1;
          throw error;
        }
      },
      isTransientBigQueryError,
      (error) => (isConcurrentUpdate(error) ? (this.options.concurrencyRetry ?? CONCURRENCY_RETRY) : this.retry),
      (error, attempt, delayMs) =>
        this.logger.warn('BigQuery job failed, retrying', { attempt, delay_ms: delayMs, error: errorMessage(error) }),
    ).catch((error: unknown) => {
      throw this.wrap(error, describeStatement(sql));
    });
  }

  /**
   * Inserts the job under the first generation whose id is free, or attaches to one running or
   * succeeded; `state.generation` moves past every job that ended in error.
   */
  private async insertOrAttach(
    base: string,
    state: { generation: number },
    sql: string,
    params: QueryParams,
    context: JobContext,
  ): Promise<Job> {
    for (; state.generation < MAX_JOB_GENERATIONS; state.generation += 1) {
      const jobId = `${base}_g${state.generation}`;
      try {
        const [job] = await this.client.createQueryJob({ ...this.jobRequest(sql, params, context), jobId });
        this.logger.info('BigQuery job started', { job_id: jobId, console_url: this.consoleUrl(jobId) });
        return job;
      } catch (error) {
        // The client rejects a job created in an error state: it ran, so its id is spent.
        if (jobRanAndFailed(error)) {
          state.generation += 1;
          throw error;
        }
        if ((error as ApiErrorLike).code !== 409) throw error;
        const job = this.client.job(jobId, { location: this.options.location });
        const [metadata] = await job.getMetadata();
        if (metadata.status?.errorResult) {
          this.logger.info('BigQuery job under this id failed before: running the work under the next id', {
            job_id: jobId,
            error: metadata.status.errorResult.message,
          });
          continue;
        }
        this.logger.info('BigQuery job already existed, attaching to it', {
          job_id: jobId,
          console_url: this.consoleUrl(jobId),
        });
        return job;
      }
    }
    throw new WarehouseError(`BigQuery: ${MAX_JOB_GENERATIONS} jobs under ${base} all failed; not trying again`, {
      transient: false,
    });
  }

  private async jobEndedInError(job: Job): Promise<boolean> {
    try {
      const [metadata] = await job.getMetadata();
      return Boolean(metadata.status?.errorResult);
    } catch {
      // Unknown: keep the id, so the next try attaches to the job and learns its state.
      return false;
    }
  }

  private jobRequest(sql: string, params: QueryParams, context: JobContext): Query {
    const values: Record<string, unknown> = {};
    const types: Record<string, string> = {};
    for (const [name, param] of Object.entries(params)) {
      values[name] = this.toQueryValue(param);
      types[name] = param.type;
    }
    return {
      query: sql,
      params: values,
      types,
      useLegacySql: false,
      location: this.options.location,
      labels: this.labels(context),
      ...(this.options.maximumBytesBilled === undefined
        ? {}
        : { maximumBytesBilled: String(this.options.maximumBytesBilled) }),
    } as Query;
  }

  /** The client reads DATE and TIMESTAMP values only from its own wrappers; a plain string would be sent empty. */
  private toQueryValue({ type, value }: QueryParam): unknown {
    if (value === null) return null;
    if (type === 'DATE') return this.client.date(String(value));
    if (type === 'TIMESTAMP')
      return this.client.timestamp(canonicalTimestamp(value instanceof Date ? value : String(value)));
    if (type === 'INT64') return String(value);
    return value;
  }

  private labels(context: JobContext): Record<string, string> {
    const labels: Record<string, string> = { job: labelValue(context.job), run_id: labelValue(context.runId) };
    if (context.sqlFile !== undefined) labels.sql_file = sqlFileLabel(context.sqlFile);
    return labels;
  }

  private jobIdPrefix(context: JobContext): string {
    return `kpis_${labelValue(context.job)}_${labelValue(context.runId)}`.replace(/-/g, '_');
  }

  private writeJobIdBase(context: JobContext, sql: string, params: QueryParams): string {
    const work =
      context.workKey === undefined
        ? createHash('sha256').update(sql).update(JSON.stringify(params))
        : createHash('sha256').update(context.workKey);
    return `${this.jobIdPrefix(context)}_${work.digest('hex').slice(0, 16)}`;
  }

  private consoleUrl(jobId: string): string {
    return `https://console.cloud.google.com/bigquery?project=${this.options.projectId}&j=bq:${this.options.location}:${jobId}&page=queryresults`;
  }

  /** An API call that changes nothing or is idempotent, retried when transient and wrapped when it fails. */
  private api<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withRetry(call, isTransientBigQueryError, this.retry).catch((error: unknown) => {
      throw this.wrap(error, what);
    });
  }

  private wrap(error: unknown, what: string): WarehouseError {
    if (error instanceof WarehouseError) return error;
    const message = `BigQuery failed on ${what}: ${errorMessage(error)}`;
    if (isNotFound(error)) {
      // Someone dropped a table this instance had ensured: ensure them all again from now on.
      this.ensured.clear();
      return new TableNotFoundError(message, { cause: error });
    }
    return new WarehouseError(message, { cause: error, transient: isTransientBigQueryError(error) });
  }
}

/** What a dry-run job says it would read; null when it does not say. */
function bytesOf(job: Job): number | null {
  const bytes = job.metadata?.statistics?.totalBytesProcessed;
  return bytes === undefined ? null : Number(bytes);
}

/** A missing table or dataset, as a job error (`notFound`) or an HTTP 404 of a table call. */
function isNotFound(error: unknown): boolean {
  const api = error as ApiErrorLike;
  return (
    api?.code === 404 ||
    Boolean(api?.errors?.some((detail) => detail.reason === 'notFound')) ||
    /^Not found: (Table|Dataset)/.test(api?.message ?? '')
  );
}

/** The job exists and ended in error, as opposed to a request that never reached BigQuery. */
function jobRanAndFailed(error: unknown): boolean {
  return Boolean((error as ApiErrorLike).response?.status?.errorResult);
}

/**
 * A row as one line of newline-delimited JSON with the table's columns only: BigQuery's JSON load
 * fails on a key the table has no column for (an events table made before platform and country
 * existed is loaded without them, shared/events/load-events.ts).
 */
function jsonLine(table: TableSchema): (row: Row) => string {
  const columns = table.columns.map((column) => column.name);
  return (row) => `${JSON.stringify(row, columns)}\n`;
}

function ignoreAlreadyExists(error: unknown): void {
  if ((error as ApiErrorLike).code !== 409) throw error;
}

/** Same shapes as the DuckDB adapter: dates 'YYYY-MM-DD', timestamps ISO strings, INT64 numbers. */
function normalizeRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) out[name] = normalizeCell(value);
  return out;
}

function normalizeCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (value instanceof BigQueryTimestamp) return canonicalTimestamp(value.value);
  // NUMERIC arrives as a big.js number: a number, as DuckDB's DECIMAL gives (String() would say "1e-9").
  if (isBigNumber(value)) return Number(String(value));
  if (typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || value instanceof Date)
    return value;
  return String(value);
}

/** big.js's shape (the client's NUMERIC values): sign, exponent and digits. */
function isBigNumber(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 's' in value && 'e' in value && 'c' in value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The instants a partition holds, from its id (YYYYMMDD or YYYYMMDDHH, UTC); null for an unpartitioned table's one row (every day). */
function partitionSpan(id: string | null): { start: number; end: number } | null {
  if (id === null) return null;
  const start = Date.parse(
    `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.length === 10 ? id.slice(8, 10) : '00'}:00:00Z`,
  );
  return { start, end: start + (id.length === 10 ? 3_600_000 : 86_400_000) };
}
