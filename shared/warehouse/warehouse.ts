/**
 * The warehouse port: everything the use-cases need from BigQuery or DuckDB. Engine differences
 * live in the adapters (bigquery.ts, duckdb.ts), never in the use-cases.
 */
import type { DateRange, IsoDate } from '../dates';
import type { NestedField } from '../events/ga4-export';
import type { ColumnType, TableSchema } from '../schema';

export type ParamType = ColumnType;

/**
 * A source table of raw events, read by its event-time column `time`; or, when `table` ends with
 * `*`, a BigQuery wildcard table of daily shards (the GA4 export's `events_*`).
 */
export interface SourceRef {
  dataset: string;
  table: string;
}

/** A named query parameter with its type, bound as `@name` in the SQL text. */
export interface QueryParam {
  type: ParamType;
  /** DATE: 'YYYY-MM-DD'; TIMESTAMP: a Date; null binds a typed NULL. */
  value: string | number | boolean | Date | null;
}

export type QueryParams = Record<string, QueryParam>;

/** A result or input cell: DATE as 'YYYY-MM-DD', TIMESTAMP as an ISO string or Date, INT64 as number. */
export type Cell = string | number | boolean | Date | null;
export type Row = Record<string, Cell>;

/** Who runs a job; BigQuery puts these on every job as labels and in the deterministic job id. */
export interface JobContext {
  job: string;
  runId: string;
  /**
   * Names the work a write does, stable across redeliveries of one message (e.g. the run id, the
   * range and the tables): BigQuery derives the write's job id from it, so a redelivery re-attaches
   * to the job the first delivery started. Without it the id comes from the SQL and its parameters.
   */
  workKey?: string;
  /**
   * The SQL file the statement was rendered from, as named under sql/ (`alerts/claim.sql`) or by
   * the config (`custom/coins.sql`): BigQuery labels the job with it (`sql_file`), so logs, the
   * console and tests tell jobs apart by their file rather than by their SQL text.
   */
  sqlFile?: string;
}

export interface DryRunResult {
  /** Bytes the engine estimates it would read; null where the engine does not estimate. */
  bytesProcessed: number | null;
}

/**
 * A column as the warehouse reports it. `type` is the project's name (COLUMN_TYPES in
 * shared/schema.ts: INT64, not DuckDB's BIGINT or the REST API's INTEGER) whatever the engine; a
 * type the project has no name for keeps the engine's own, in capitals (BigQuery's DATETIME).
 */
export interface ColumnInfo {
  name: string;
  type: string;
}

/** What a query would return, found without reading data. */
export interface QueryShape {
  /** Its columns in order. */
  columns: ColumnInfo[];
  /** Bytes it would read (BigQuery's dry run); null where the engine does not estimate. */
  bytesProcessed: number | null;
}

export interface Warehouse {
  /** 'bigquery' or 'duckdb': for logs and file names, never for branching in use-cases. */
  readonly engine: string;
  /** How a permanent table is named in SQL text on this engine. */
  tableRef(dataset: string, table: string): string;
  /** Runs one statement and returns its rows with normalized values. */
  query(sql: string, params: QueryParams, context: JobContext): Promise<Row[]>;
  /**
   * Runs statements in order as one script. With `atomic`, all of them commit together or none
   * does. Temporary tables live until the script ends.
   */
  runScript(
    statements: string[],
    params: QueryParams,
    context: JobContext,
    options: { atomic: boolean },
  ): Promise<void>;
  /**
   * The columns one SELECT returns and what it would read, without reading any data (DuckDB runs
   * it limited to no rows, BigQuery dry-runs it). A statement the engine rejects throws a
   * QueryError with the line and column it names.
   */
  describeQuery(sql: string, params: QueryParams, context: JobContext): Promise<QueryShape>;
  /** Validates a script without changing anything, and estimates what it would read. */
  dryRunScript(statements: string[], params: QueryParams, context: JobContext): Promise<DryRunResult>;
  /** The script text exactly as this engine would receive it (for --dry-run files and goldens). */
  renderScript(statements: string[], options: { atomic: boolean }): string;
  /**
   * A stamp per KPI day (in `timeZone`) of a source table's events over `range`, for telling which
   * days changed since they were built: when a day's events change, its stamp changes. Days with
   * no events are absent. BigQuery reads partition metadata (INFORMATION_SCHEMA.PARTITIONS), no
   * event bytes; DuckDB counts the day's rows and their newest row id, reading only the range.
   * For a wildcard source, a day's stamp is that of the shards that may hold its events (the
   * day's and the ones either side, final and intraday): BigQuery reads their tables'
   * last_modified_time (`__TABLES__`), DuckDB counts their rows and sums their event times.
   */
  sourceVersions(
    source: SourceRef,
    range: DateRange,
    timeZone: string,
    context: JobContext,
  ): Promise<Map<IsoDate, string>>;
  /**
   * As sourceVersions, counting only the events timed before `before` (a build's time): the
   * version of a day a table reads ahead (reads_days_after) that the day's later events leave
   * alone. DuckDB: the same fingerprint, bounded; BigQuery: the count and newest time of those
   * events (sql/etl/source_events_before.sql, the time column of the range's partitions, at least
   * 10 MB billed). Null for a wildcard source: its days are compared whole.
   */
  sourceVersionsBefore(
    source: SourceRef,
    range: DateRange,
    before: Date,
    timeZone: string,
    context: JobContext,
  ): Promise<Map<IsoDate, string> | null>;
  /**
   * A wildcard table in FROM, with its `_TABLE_SUFFIX` column: the tables of `dataset` named
   * `prefix` + a suffix. BigQuery names its own wildcard table (the query's filter on
   * `_TABLE_SUFFIX` picks the tables it scans); DuckDB, which has none, unions the tables whose
   * suffix lies in one of `suffixes` (inclusive ranges), or, when none does, gives no rows with
   * `fields`. Both throw a TableNotFoundError when the dataset holds no such table at all.
   */
  wildcardTable(dataset: string, prefix: string, suffixes: [string, string][], fields: NestedField[]): Promise<string>;
  /** An array's elements in FROM, each a row named `alias` (BigQuery `UNNEST(a) AS p`; DuckDB needs a subquery for `p.field`). */
  unnestAs(array: string, alias: string): string;
  /**
   * Replaces tables of `dataset` with the rows of a newline-delimited JSON file (nested, as `bq
   * extract` writes it; INT64 as text or number; fields not in `fields` ignored): all rows into
   * `into.table`, or each row into `into.prefix` + its `into.by` value, which must match
   * `into.pattern` (RE2, whole value). All tables or none. Returns the rows written per table.
   * BigQuery refuses (the export writes its own tables there).
   */
  replaceFromJsonLines(
    dataset: string,
    file: string,
    fields: NestedField[],
    into: { table: string } | { prefix: string; by: string; pattern: string },
  ): Promise<Map<string, number>>;
  /** The columns of an existing table, in order (types in the project's names); null when the table does not exist. */
  columnsOf(dataset: string, table: string): Promise<ColumnInfo[] | null>;
  /** Creates the table, and its dataset, if missing, with partitioning, clustering and descriptions where supported. */
  ensureTable(table: TableSchema): Promise<void>;
  /** Appends rows atomically: all of them or none. */
  appendRows(table: TableSchema, rows: Row[], context: JobContext): Promise<number>;
  /**
   * Appends rows that arrive in batches (a file checked as it streams), all of them or none: if the
   * batches throw, nothing is appended. Holds about one batch at a time, whatever the total.
   */
  appendBatches(table: TableSchema, batches: AsyncIterable<Row[]>, context: JobContext): Promise<number>;
  /**
   * Appends a CSV file that the engine reads itself, at its own speed and in constant memory:
   * comma-separated, `"` quotes, a header line naming `columns` (the table's, in the file's order).
   * It takes the file only when every row is plainly valid, all rows or none:
   * - STRING: empty is NULL; no whitespace or control character at either end, no `"`, at most
   *   `maxLength` characters (Unicode code points) where one is given;
   * - TIMESTAMP: `YYYY-MM-DD`, optionally ` hh:mm[:ss[.fraction]]` (or `T`) and a zone `Z`,
   *   `+hh[[:]mm]` or ` UTC`; no zone means UTC;
   * - INT64: up to 15 digits, optionally after `-`; a REQUIRED column is never empty.
   * Else it appends nothing and returns null (so does an engine without such a reader), and the
   * caller reads the file itself: to name its problems, or to load what a closer reading (quoted
   * values, other spellings) accepts. These rules may refuse more than the caller does, never less.
   */
  appendCsvFile(
    table: TableSchema,
    file: string,
    columns: string[],
    maxLength: ReadonlyMap<string, number>,
    context: JobContext,
  ): Promise<number | null>;
  /**
   * Appends a Parquet file atomically, casting its columns to the table's types. A text cell
   * longer than its column's `maxLength` (code points) refuses the file, naming row and column,
   * where the engine can check it before the load (DuckDB; BigQuery's load job cannot).
   */
  appendParquet(
    table: TableSchema,
    path: string,
    context: JobContext,
    maxLength?: ReadonlyMap<string, number>,
  ): Promise<number>;
  close(): Promise<void>;
}
