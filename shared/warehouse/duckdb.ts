/**
 * The embedded warehouse: DuckDB in a local file (or in memory). A BigQuery dataset is a DuckDB
 * schema. The compatibility layer below is all that lets the BigQuery SQL in sql/ run unchanged.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBDecimalValue,
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBAppender,
  type DuckDBDateValue,
  DuckDBTimestampValue,
  TIMESTAMP,
  VARCHAR,
  dateValueFromDate,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { InputFileError, QueryError, TableNotFoundError, WarehouseError, type SqlPosition } from '../errors';
import type { ColumnSchema, TableSchema } from '../schema';
import { addDays, startOfDayIn, type DateRange, type IsoDate } from '../dates';
import { describeStatement, paramNames, renderSqlFile, rewriteParams } from '../sql';
import { canonicalTimestamp, timestampMicros } from '../timestamps';
import { duckDbType, GA4_EVENT_FIELDS, shardRanges, versionsByDay, type NestedField } from '../events/ga4-export';
import type {
  Cell,
  ColumnInfo,
  DryRunResult,
  JobContext,
  ParamType,
  QueryParam,
  QueryParams,
  QueryShape,
  Row,
  SourceRef,
  Warehouse,
} from './warehouse';

/**
 * What DuckDB lacks of BigQuery's dialect, run on every new connection:
 * - TimeZone UTC, so DATE(ts) and timestamp literals mean what they mean on BigQuery;
 * - FLOAT64, BigQuery's name for DOUBLE (STRING and INT64 are built-in aliases already);
 * - SAFE_DIVIDE, BigQuery's NULL-on-zero division;
 * - DATETIME(ts, zone), BigQuery's wall-clock time of an instant in a zone (ICU is built in), so
 *   `DATE(DATETIME(time, @time_zone))` is an event's local day on both engines. DuckDB parses
 *   `DATE(x, y)` as a cast and rejects it, hence the detour through DATETIME;
 * - UNIX_SECONDS(ts), BigQuery's whole seconds since the epoch (rounded down), so a duration is a
 *   difference of two of them on both engines (DuckDB has no TIMESTAMP_DIFF);
 * - TIMESTAMP_ADD and TIMESTAMP_SUB(ts, INTERVAL n unit): BigQuery's form of timestamp arithmetic
 *   (GoogleSQL's analyzer rejects `ts - INTERVAL ...`, which both engines would run);
 * - TIMESTAMP_MICROS(n), the instant n microseconds after the epoch (the GA4 export's
 *   event_timestamp), and REGEXP_CONTAINS(text, pattern), BigQuery's partial regular-expression match.
 * `@name` parameters become `$name` in `bind()` below; backticks never reach DuckDB because table
 * names are rendered by `tableRef`.
 */
export const COMPATIBILITY_LAYER = [
  "SET TimeZone = 'UTC'",
  'CREATE TYPE IF NOT EXISTS FLOAT64 AS DOUBLE',
  'CREATE OR REPLACE TEMP MACRO safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END',
  // UTC skips the conversion (DuckDB evaluates a CASE branch only for the rows that take it).
  "CREATE OR REPLACE TEMP MACRO datetime(ts, zone) AS CASE WHEN zone = 'UTC' THEN ts ELSE timezone(zone, CAST(ts AS TIMESTAMPTZ)) END",
  'CREATE OR REPLACE TEMP MACRO unix_seconds(ts) AS CAST(floor(epoch(ts)) AS BIGINT)',
  'CREATE OR REPLACE TEMP MACRO timestamp_add(ts, step) AS ts + step',
  'CREATE OR REPLACE TEMP MACRO timestamp_sub(ts, step) AS ts - step',
  'CREATE OR REPLACE TEMP MACRO timestamp_micros(n) AS make_timestamp(n)',
  'CREATE OR REPLACE TEMP MACRO regexp_contains(text, pattern) AS regexp_matches(text, pattern)',
];

export const DUCKDB_TYPES: Record<ParamType, { sql: string; type: DuckDBType }> = {
  STRING: { sql: 'VARCHAR', type: VARCHAR },
  INT64: { sql: 'BIGINT', type: BIGINT },
  FLOAT64: { sql: 'DOUBLE', type: DOUBLE },
  // BigQuery's NUMERIC: 38 digits, 9 after the point (DuckDB's own NUMERIC is DECIMAL(18,3)).
  NUMERIC: { sql: 'DECIMAL(38,9)', type: DECIMAL(38, 9) },
  BOOL: { sql: 'BOOLEAN', type: BOOLEAN },
  DATE: { sql: 'DATE', type: DATE },
  TIMESTAMP: { sql: 'TIMESTAMP', type: TIMESTAMP },
};

/** Typed appender calls: about 7x faster than the generic appendValue on a few hundred thousand rows. */
const APPEND: Record<ParamType, (appender: DuckDBAppender, value: Exclude<Cell, null>) => void> = {
  STRING: (appender, value) => appender.appendVarchar(String(value)),
  INT64: (appender, value) => appender.appendBigInt(BigInt(value as number)),
  FLOAT64: (appender, value) => appender.appendDouble(Number(value)),
  NUMERIC: (appender, value) => appender.appendDecimal(toDuckDbValue(value, 'NUMERIC') as DuckDBDecimalValue),
  BOOL: (appender, value) => appender.appendBoolean(Boolean(value)),
  DATE: (appender, value) => appender.appendDate(toDuckDbValue(value, 'DATE') as DuckDBDateValue),
  TIMESTAMP: (appender, value) => appender.appendTimestamp(toDuckDbValue(value, 'TIMESTAMP') as DuckDBTimestampValue),
};

const CREATE_TEMP_TABLE = /\bCREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi;

export const DEFAULT_DUCKDB_PATH = '.data/warehouse.duckdb';
/**
 * DuckDB's memory while it loads a file (see withLoadMemory): a 1 GB CSV peaks at 700 to 800 MB of
 * process memory, whatever the file's size past that. 256 MB kept it near 490 MB but cost a tenth
 * more CPU, spilling the time sort to disk (npm run bench, load_ratio).
 */
const LOAD_MEMORY_LIMIT = '512MB';
/** Work keys remembered (see runScript). */
const MAX_REMEMBERED_SCRIPTS = 10_000;

export class DuckDbWarehouse implements Warehouse {
  readonly engine = 'duckdb';
  /** One connection, used by one call at a time, so a transaction never interleaves with another call. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Tables known to exist; this process is the file's only writer. */
  private readonly ensured = new Set<string>();
  /** Scripts run with a work key, running or succeeded, by key (see runScript). */
  private readonly scripts = new Map<string, Promise<void>>();
  /** Set by close(): no call starts after it. */
  private closed: Promise<void> | undefined;
  /** Called after each statement of a script with its time (the bench's per-table share of a run); unset in production. */
  onScriptStatement: ((statement: string, ms: number) => void) | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly location: string,
  ) {}

  /** Opens (creating if needed) a database file, or ':memory:'. */
  static async open(location: string = DEFAULT_DUCKDB_PATH): Promise<DuckDbWarehouse> {
    if (location !== ':memory:') mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(location);
    } catch (error) {
      const message = (error as Error).message;
      // A DuckDB file takes one process at a time; the usual other one is `npm run serve`.
      const hint = /Could not set lock/i.test(message)
        ? '\nAnother process has this warehouse open (is `npm run serve` running?): stop it, or send it work with `npx kpis publish`.'
        : '';
      throw new WarehouseError(`cannot open DuckDB warehouse ${location}: ${message}${hint}`, {
        cause: error,
        transient: false,
      });
    }
    const connection = await instance.connect();
    for (const statement of COMPATIBILITY_LAYER) await connection.run(statement);
    return new DuckDbWarehouse(instance, connection, location);
  }

  tableRef(dataset: string, table: string): string {
    return `${dataset}.${table}`;
  }

  query(sql: string, params: QueryParams, _context?: JobContext): Promise<Row[]> {
    return this.exclusive(async () => {
      const reader = await this.execute(sql, params);
      const types = reader.columnTypes().map((type) => type.toString());
      const names = reader.columnNames();
      return reader.getRows().map((values) => {
        // Own properties, so a column aliased `__proto__` is a column, not the row's prototype.
        return Object.fromEntries(
          values.map((value, index) => [names[index] as string, normalizeCell(value, types[index] as string)]),
        ) as Row;
      });
    });
  }

  /**
   * A script with a work key runs once, as a BigQuery job with that id does: a second call with the
   * same key while it runs, or after it succeeded, re-attaches to it; after a failure it runs again.
   * This process is the file's only writer, so the scripts it ran are all the jobs there are.
   */
  runScript(
    statements: string[],
    params: QueryParams,
    context: JobContext | undefined,
    options: { atomic: boolean },
  ): Promise<void> {
    const key = context?.workKey;
    const earlier = key === undefined ? undefined : this.scripts.get(key);
    if (earlier) return earlier;
    const run = this.exclusive(() => this.runStatements(statements, params, options.atomic ? 'COMMIT' : undefined));
    if (key !== undefined) {
      this.scripts.set(key, run);
      run.catch(() => this.scripts.delete(key));
      // The oldest keys go first; a redelivery comes within minutes, not after thousands of runs.
      if (this.scripts.size > MAX_REMEMBERED_SCRIPTS) this.scripts.delete(this.scripts.keys().next().value as string);
    }
    return run;
  }

  /** Each day's count and newest row id (sql/etl/source_fingerprints.sql): DuckDB keeps no change times. */
  async sourceVersions(source: SourceRef, range: DateRange, timeZone: string): Promise<Map<IsoDate, string>> {
    if (source.table.endsWith('*')) return this.shardVersions(source, range);
    return this.fingerprints(source, range, startOfDayIn(addDays(range.end, 1), timeZone), timeZone);
  }

  /** The same fingerprints of the events timed before `before` only (a day read ahead: reads_days_after). */
  async sourceVersionsBefore(
    source: SourceRef,
    range: DateRange,
    before: Date,
    timeZone: string,
  ): Promise<Map<IsoDate, string> | null> {
    return source.table.endsWith('*') ? null : this.fingerprints(source, range, before, timeZone);
  }

  private async fingerprints(
    source: SourceRef,
    range: DateRange,
    before: Date,
    timeZone: string,
  ): Promise<Map<IsoDate, string>> {
    const sql = renderSqlFile('etl/source_fingerprints.sql', { source: this.tableRef(source.dataset, source.table) });
    const rows = await this.query(sql, {
      start_ts: { type: 'TIMESTAMP', value: startOfDayIn(range.start, timeZone) },
      end_ts: { type: 'TIMESTAMP', value: startOfDayIn(addDays(range.end, 1), timeZone) },
      before: { type: 'TIMESTAMP', value: before },
      time_zone: { type: 'STRING', value: timeZone },
    });
    return new Map(
      rows.map((row) => [String(row.day), `${String(row.events)} events, newest row ${String(row.newest_row)}`]),
    );
  }

  /** A wildcard source's shards' fingerprints (sql/etl/shard_fingerprints.sql), as each day's version. */
  private async shardVersions(source: SourceRef, range: DateRange): Promise<Map<IsoDate, string>> {
    const shards = await this.wildcardTable(
      source.dataset,
      source.table.slice(0, -1),
      shardRanges(range),
      GA4_EVENT_FIELDS,
    ).catch((error: unknown) => {
      if (error instanceof TableNotFoundError) return null;
      throw error;
    });
    if (shards === null) return new Map();
    const rows = await this.query(renderSqlFile('etl/shard_fingerprints.sql', { shards }), {});
    return versionsByDay(
      rows.map((row) => ({ suffix: String(row.shard), stamp: `${String(row.events)} events, ${String(row.stamp)}` })),
      range,
    );
  }

  /** The shard tables whose suffix is in range, as one UNION ALL BY NAME (a shard may lack a newer field). */
  async wildcardTable(
    dataset: string,
    prefix: string,
    suffixes: [string, string][],
    fields: NestedField[],
  ): Promise<string> {
    const rows = await this.query(
      'SELECT table_name FROM duckdb_tables() WHERE schema_name = @dataset AND starts_with(table_name, @prefix) ORDER BY table_name',
      {
        dataset: { type: 'STRING', value: dataset },
        prefix: { type: 'STRING', value: prefix },
      },
    );
    // Word characters only: a suffix becomes a string literal and a table name below.
    const all = rows.map((row) => String(row.table_name).slice(prefix.length)).filter((suffix) => /^\w+$/.test(suffix));
    if (all.length === 0)
      throw new TableNotFoundError(
        `Table ${dataset}.${prefix}* not found: the dataset ${dataset} holds no table named ${prefix}...`,
      );
    const chosen = all.filter((suffix) => suffixes.some(([first, last]) => suffix >= first && suffix <= last));
    if (chosen.length === 0) {
      const nulls = fields.map((field) => `CAST(NULL AS ${duckDbType(field.type)}) AS ${field.name}`);
      return `(SELECT ${nulls.join(', ')}, CAST(NULL AS VARCHAR) AS _TABLE_SUFFIX LIMIT 0)`;
    }
    return `(${chosen.map((suffix) => `SELECT *, '${suffix}' AS _TABLE_SUFFIX FROM ${dataset}.${prefix}${suffix}`).join(' UNION ALL BY NAME ')})`;
  }

  /** DuckDB cannot name an unnested struct's fields through a table alias (`FROM UNNEST(a) AS p`), but can through a column alias. */
  unnestAs(array: string, alias: string): string {
    return `(SELECT UNNEST(${array}) AS ${alias})`;
  }

  /** DuckDB's read_json with the fields declared, staged once, then one table per value, in one transaction. */
  replaceFromJsonLines(
    dataset: string,
    file: string,
    fields: NestedField[],
    into: { table: string } | { prefix: string; by: string; pattern: string },
  ): Promise<Map<string, number>> {
    const stage = 'kpis_json_stage';
    return this.exclusive(() =>
      this.withLoadMemory(async () => {
        await this.stageJsonLines(stage, file, fields);
        try {
          const tables = 'table' in into ? new Map([[into.table, 'TRUE']]) : await this.tablesBy(stage, file, into);
          return await this.replaceTablesFromStage(stage, file, dataset, tables);
        } finally {
          await this.connection.run(`DROP TABLE IF EXISTS temp.main.${stage}`);
        }
      }),
    );
  }

  /** The file's lines as a temp table of the declared fields; a file that does not parse is the caller's to fix (InputFileError). */
  private async stageJsonLines(stage: string, file: string, fields: NestedField[]): Promise<void> {
    const columns = fields.map((field) => `${quote(field.name)}: '${duckDbType(field.type)}'`).join(', ');
    try {
      await this.connection.run(
        `CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT * FROM read_json($path, format = 'newline_delimited', columns = {${columns}})`,
        {
          path: file,
        },
      );
    } catch (error) {
      throw new InputFileError(
        `${file}: not newline-delimited JSON of the expected fields: ${(error as Error).message.split('\n')[0]}`,
        { cause: error },
      );
    }
  }

  /** Each table replaced by its filter of the staged rows, all in one transaction; each table's row count. */
  private async replaceTablesFromStage(
    stage: string,
    file: string,
    dataset: string,
    tables: Map<string, string>,
  ): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    await this.connection.run('BEGIN TRANSACTION');
    try {
      await this.connection.run(`CREATE SCHEMA IF NOT EXISTS ${dataset}`);
      for (const [table, where] of tables) {
        await this.connection.run(
          `CREATE OR REPLACE TABLE ${dataset}.${table} AS SELECT * FROM temp.main.${stage} WHERE ${where}`,
        );
        const reader = await this.connection.runAndReadAll(`SELECT COUNT(*) AS n FROM ${dataset}.${table}`);
        counts.set(table, Number(reader.getRowObjectsJS()[0]?.n ?? 0));
      }
      await this.connection.run('COMMIT');
    } catch (error) {
      await this.rollbackQuietly();
      throw asWarehouseError(error, `load ${file} into ${dataset}`);
    }
    return counts;
  }

  /** The staged rows' tables by their `by` value, each with its filter; a value not matching `pattern` refuses the file. */
  private async tablesBy(
    stage: string,
    file: string,
    into: { prefix: string; by: string; pattern: string },
  ): Promise<Map<string, string>> {
    if (!/^[A-Za-z_]\w*$/.test(into.by)) throw new Error(`not a column name: ${JSON.stringify(into.by)}`);
    const column = into.by;
    const bad = await this.connection.runAndReadAll(
      `SELECT COUNT(*) AS n, MIN(${column}) AS example FROM temp.main.${stage} WHERE ${column} IS NULL OR NOT regexp_full_match(${column}, $pattern)`,
      { pattern: into.pattern },
    );
    const [problem] = bad.getRowObjectsJS();
    if (Number(problem?.n ?? 0) > 0) {
      throw new InputFileError(
        `${file}: ${String(problem?.n)} line(s) have no ${into.by} of the form ${into.pattern}, e.g. ${JSON.stringify(problem?.example ?? null)}; nothing loaded`,
      );
    }
    const values = await this.connection.runAndReadAll(
      `SELECT DISTINCT ${column} AS value FROM temp.main.${stage} ORDER BY 1`,
    );
    const tables = values
      .getRowObjectsJS()
      .map(
        (row) =>
          [`${into.prefix}${String(row.value)}`, `${column} = '${String(row.value).replaceAll("'", "''")}'`] as const,
      );
    const unnamed = tables.find(([table]) => !/^\w+$/.test(table));
    if (unnamed)
      throw new InputFileError(
        `${file}: ${into.by} ${JSON.stringify(unnamed[0].slice(into.prefix.length))} cannot name a table; nothing loaded`,
      );
    return new Map(tables);
  }

  describeQuery(sql: string, params: QueryParams): Promise<QueryShape> {
    // On the first line, so the engine's line numbers are the query's own.
    const prefix = 'SELECT * FROM (';
    return this.exclusive(async () => {
      let reader;
      try {
        const { values, types } = bind(sql, params);
        reader = await this.connection.runAndReadAll(
          `${prefix}${rewriteParams(sql, '$')}\n) AS q LIMIT 0`,
          values,
          types,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new QueryError(`DuckDB rejected the query: ${message}`, {
          cause: error,
          position: duckDbPosition(message, sql, prefix.length),
        });
      }
      const names = reader.columnNames();
      const columns = reader
        .columnTypes()
        .map((type, index) => ({ name: names[index] as string, type: columnTypeOf(type.toString()) }));
      return { columns, bytesProcessed: null };
    });
  }

  /** DuckDB gives no byte estimate; running the script in a transaction that is rolled back validates every statement. */
  async dryRunScript(statements: string[], params: QueryParams): Promise<DryRunResult> {
    await this.exclusive(() => this.runStatements(statements, params, 'ROLLBACK'));
    return { bytesProcessed: null };
  }

  renderScript(statements: string[], options: { atomic: boolean }): string {
    const body = statements.map((statement) => `${rewriteParams(statement, '$')};`);
    return (options.atomic ? ['BEGIN TRANSACTION;', ...body, 'COMMIT;'] : body).join('\n\n') + '\n';
  }

  columnsOf(dataset: string, table: string): Promise<ColumnInfo[] | null> {
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        'SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $dataset AND table_name = $table ORDER BY column_index',
        { dataset, table },
      );
      const rows = reader.getRowObjectsJS();
      return rows.length === 0
        ? null
        : rows.map((row) => ({ name: String(row.column_name), type: columnTypeOf(String(row.data_type)) }));
    });
  }

  ensureTable(table: TableSchema): Promise<void> {
    const ref = this.tableRef(table.dataset, table.table);
    const columns = table.columns.map(
      (column) => `${column.name} ${DUCKDB_TYPES[column.type].sql}${column.required ? ' NOT NULL' : ''}`,
    );
    return this.exclusive(async () => {
      // Every run ensures its tables: remember what exists rather than write the catalog each time.
      if (this.ensured.has(ref)) return;
      const existing = await this.connection.runAndReadAll(
        'SELECT 1 FROM duckdb_tables() WHERE schema_name = $dataset AND table_name = $table',
        {
          dataset: table.dataset,
          table: table.table,
        },
      );
      if (existing.currentRowCount > 0) {
        this.ensured.add(ref);
        return;
      }
      await this.connection.run(`CREATE SCHEMA IF NOT EXISTS ${table.dataset}`);
      await this.connection.run(`CREATE TABLE IF NOT EXISTS ${ref} (\n  ${columns.join(',\n  ')}\n)`);
      await this.connection.run(`COMMENT ON TABLE ${ref} IS ${quote(table.description)}`);
      for (const column of table.columns) {
        await this.connection.run(`COMMENT ON COLUMN ${ref}.${column.name} IS ${quote(column.description)}`);
      }
      this.ensured.add(ref);
    });
  }

  appendRows(table: TableSchema, rows: Row[]): Promise<number> {
    return this.exclusive(async () => {
      await this.connection.run('BEGIN TRANSACTION');
      try {
        const appender = await this.connection.createAppender(table.table, table.dataset);
        appendTo(appender, appendersOf(table), rows);
        appender.closeSync();
        await this.connection.run('COMMIT');
        return rows.length;
      } catch (error) {
        await this.rollbackQuietly();
        throw asWarehouseError(error, `append to ${table.dataset}.${table.table}`);
      }
    });
  }

  /**
   * Stages the batches in a temporary table, then appends them in one INSERT, sorted by the
   * partition column as appendCsvFile does (DuckDB prunes by it). A batch that throws drops the stage.
   */
  appendBatches(table: TableSchema, batches: AsyncIterable<Row[]>, _context?: JobContext): Promise<number> {
    const stage = `kpis_stage_${table.table}`;
    const columns = appendersOf(table);
    return this.exclusive(() =>
      this.withLoadMemory(async () => {
        await this.connection.run(
          `CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT * FROM ${this.tableRef(table.dataset, table.table)} LIMIT 0`,
        );
        const appender = await this.connection.createAppender(stage, 'main', 'temp');
        let open = true;
        try {
          for await (const rows of batches) appendTo(appender, columns, rows);
          appender.closeSync();
          open = false;
          const result = await this.connection.run(
            `INSERT INTO ${this.tableRef(table.dataset, table.table)} SELECT * FROM temp.main.${stage}${orderBy(table)}`,
          );
          return Number(result.rowsChanged);
        } catch (error) {
          throw error instanceof InputFileError
            ? error
            : asWarehouseError(error, `append to ${table.dataset}.${table.table}`);
        } finally {
          // An appender left open would flush its rows when collected, after the stage is gone.
          if (open) appender.closeSync();
          await this.connection.run(`DROP TABLE IF EXISTS temp.main.${stage}`);
        }
      }),
    );
  }

  /** Throws the first 20 cells of a Parquet file longer than their column's limit, by row (1-based) and column. */
  private async refuseLongText(file: string, limits: [string, number][]): Promise<void> {
    if (limits.length === 0) return;
    const long = limits.map(([name, max]) => `CASE WHEN length(CAST(${name} AS VARCHAR)) > ${max} THEN '${name}' END`);
    const reader = await this.connection.runAndReadAll(
      `SELECT file_row_number + 1 AS row, name, count(*) OVER () AS total
       FROM (SELECT file_row_number, unnest([${long.join(', ')}]) AS name FROM read_parquet($path, file_row_number = true))
       WHERE name IS NOT NULL ORDER BY row, name LIMIT 20`,
      { path: file },
    );
    const rows = reader.getRowObjectsJS();
    if (rows.length === 0) return;
    const total = Number(rows[0]?.total);
    const max = new Map(limits);
    const listed = rows.map(
      (row) =>
        `${file}:${String(row.row)}: column ${String(row.name)}: ${String(row.name)}: longer than ${max.get(String(row.name))} characters (see the README's limits)`,
    );
    const more = total > rows.length ? [`... and ${total - rows.length} more problems`] : [];
    throw new InputFileError(
      [
        `${file}: nothing loaded, the file has ${total} problem(s) (rows of a Parquet file count as lines):`,
        ...listed,
        ...more,
      ].join('\n  '),
    );
  }

  /**
   * Runs a file's load under LOAD_MEMORY_LIMIT: sorting a file bigger than memory spills to disk
   * rather than growing the process (DuckDB's default limit is 80% of the machine's memory).
   */
  private async withLoadMemory<T>(work: () => Promise<T>): Promise<T> {
    await this.connection.run(`SET memory_limit = '${LOAD_MEMORY_LIMIT}'`);
    try {
      return await work();
    } finally {
      // Back to DuckDB's default (nothing else sets it; reading and restoring it rounds it down each time).
      await this.connection.run('RESET memory_limit');
    }
  }

  /**
   * One INSERT from DuckDB's own CSV reader, each cell read as text and checked by plainValue:
   * a cell outside the rules stops the statement with error(), which appends nothing.
   */
  appendCsvFile(
    table: TableSchema,
    file: string,
    columns: string[],
    maxLength: ReadonlyMap<string, number>,
    _context?: JobContext,
  ): Promise<number | null> {
    const present = new Set(columns);
    const values = table.columns.map((column) =>
      present.has(column.name)
        ? plainValue(column, maxLength.get(column.name))
        : column.required
          ? undefined
          : `NULL AS ${column.name}`,
    );
    if (
      values.includes(undefined) ||
      present.size !== columns.length ||
      columns.some((name) => !table.columns.some((c) => c.name === name))
    ) {
      return Promise.resolve(null);
    }
    const types = columns.map((name) => `${quote(name)}: 'VARCHAR'`).join(', ');
    const read = `read_csv($path, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false, columns = {${types}})`;
    const casts = table.columns
      .filter((c) => c.type === 'TIMESTAMP' && present.has(c.name))
      .map((c) => `, try_cast(${c.name} AS TIMESTAMP) AS ${castOnce(c.name)}`);
    const sql = `INSERT INTO ${this.tableRef(table.dataset, table.table)} (${table.columns.map((c) => c.name).join(', ')})
      SELECT ${values.join(',\n        ')}
      FROM (SELECT *${casts.join('')} FROM ${read})${orderBy(table)}`;
    return this.exclusive(() =>
      this.withLoadMemory(async () => {
        try {
          return Number((await this.connection.run(sql, { path: file })).rowsChanged);
        } catch {
          // Not plainly valid, or not readable as DuckDB reads CSV: the caller reads the file itself.
          return null;
        }
      }),
    );
  }

  appendParquet(
    table: TableSchema,
    file: string,
    _context?: JobContext,
    maxLength: ReadonlyMap<string, number> = new Map(),
  ): Promise<number> {
    return this.exclusive(async () => {
      let described;
      try {
        described = await this.connection.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($path)', { path: file });
      } catch (error) {
        throw new InputFileError(`${file}: not a readable Parquet file: ${(error as Error).message}`, { cause: error });
      }
      const present = new Set(described.getRowObjectsJS().map((row) => String(row.column_name)));
      const missing = table.columns
        .filter((column) => column.required && !present.has(column.name))
        .map((column) => column.name);
      if (missing.length > 0) throw new InputFileError(`${file}: missing required column(s) ${missing.join(', ')}`);
      await this.refuseLongText(
        file,
        [...maxLength].filter(([name]) => present.has(name)),
      );
      const select = table.columns.map((column) =>
        present.has(column.name) ? castColumn(column) : `NULL AS ${column.name}`,
      );
      try {
        const result = await this.connection.run(
          `INSERT INTO ${this.tableRef(table.dataset, table.table)} (${table.columns.map((c) => c.name).join(', ')})
           SELECT ${select.join(', ')} FROM read_parquet($path)`,
          { path: file },
        );
        return Number(result.rowsChanged);
      } catch (error) {
        throw new InputFileError(`${file}: ${(error as Error).message}`, { cause: error });
      }
    });
  }

  /**
   * Waits for the calls already queued, then closes. A call made meanwhile is refused: queued behind
   * them, it would start on the closed connection, and DuckDB crashes the process (SIGSEGV).
   */
  close(): Promise<void> {
    this.closed ??= this.queue.then(() => {
      this.connection.closeSync();
      this.instance.closeSync();
    });
    return this.closed;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    // Transient: a delivery cut short by a stop is one Pub/Sub should deliver again.
    if (this.closed)
      return Promise.reject(new WarehouseError(`the DuckDB warehouse ${this.location} is closed`, { transient: true }));
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Runs statements one by one; with `finish`, inside a transaction closed by COMMIT or ROLLBACK. */
  private async runStatements(
    statements: string[],
    params: QueryParams,
    finish?: 'COMMIT' | 'ROLLBACK',
  ): Promise<void> {
    if (finish) await this.connection.run('BEGIN TRANSACTION');
    try {
      for (const statement of statements) {
        const started = process.hrtime.bigint();
        await this.execute(statement, params);
        this.onScriptStatement?.(statement, Number(process.hrtime.bigint() - started) / 1e6);
      }
      if (finish) await this.connection.run(finish);
    } catch (error) {
      if (finish) await this.rollbackQuietly();
      throw error;
    } finally {
      // BigQuery drops a script's temp tables when the script ends; this connection lives on.
      for (const statement of statements) {
        for (const [, name] of statement.matchAll(CREATE_TEMP_TABLE))
          await this.connection.run(`DROP TABLE IF EXISTS temp.main.${name}`);
      }
    }
  }

  /** After a failed COMMIT DuckDB has already rolled back; a second ROLLBACK must not hide the first error. */
  private async rollbackQuietly(): Promise<void> {
    await this.connection.run('ROLLBACK').catch(() => undefined);
  }

  private async execute(sql: string, params: QueryParams) {
    const { values, types } = bind(sql, params);
    try {
      return await this.connection.runAndReadAll(rewriteParams(sql, '$'), values, types);
    } catch (error) {
      const failure = asWarehouseError(error, describeStatement(sql));
      // Someone dropped a table this process had ensured: ensure them all again from now on.
      if (failure instanceof TableNotFoundError) this.ensured.clear();
      throw failure;
    }
  }
}

/** Binds only the parameters a statement uses: DuckDB rejects values it has no marker for. */
function bind(
  sql: string,
  params: QueryParams,
): { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> } {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const name of paramNames(sql)) {
    const param = Object.hasOwn(params, name) ? params[name] : undefined;
    if (param === undefined) throw new WarehouseError(`query parameter @${name} has no value`, { transient: false });
    values[name] = toDuckDbValue(param.value, param.type);
    types[name] = DUCKDB_TYPES[param.type].type;
  }
  return { values, types };
}

function toDuckDbValue(value: QueryParam['value'], type: ParamType): DuckDBValue {
  if (value === null) return null;
  switch (type) {
    case 'DATE':
      return dateValueFromDate(value instanceof Date ? value : new Date(`${String(value)}T00:00:00Z`));
    case 'TIMESTAMP':
      return new DuckDBTimestampValue(timestampMicros(value instanceof Date ? value : String(value)));
    case 'INT64':
      return BigInt(value as number);
    case 'FLOAT64':
      return Number(value);
    case 'NUMERIC':
      return new DuckDBDecimalValue(scaledNumeric(value), 38, 9);
    case 'BOOL':
      return Boolean(value);
    case 'STRING':
      return String(value);
  }
}

/** Gives DuckDB results the same shape as BigQuery's: dates as 'YYYY-MM-DD', timestamps as ISO strings, integers as numbers. */
function normalizeCell(value: unknown, type: string): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint' || type === 'HUGEINT' || type === 'BIGINT') return Number(value);
  if (type === 'DATE') return String(value);
  if (type.startsWith('DECIMAL')) return Number(String(value));
  if (type.startsWith('TIMESTAMP')) return canonicalTimestamp(String(value));
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

/** A NUMERIC value as an integer of billionths, exactly: a decimal string never goes through a double. */
function scaledNumeric(value: Exclude<QueryParam['value'], null>): bigint {
  const text = typeof value === 'number' ? value.toFixed(9) : String(value).trim();
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && !match[3]))
    throw new WarehouseError(`not a NUMERIC value: ${JSON.stringify(text)}`, { transient: false });
  const [, sign, whole, fraction = ''] = match;
  const scaled = BigInt(`${whole || '0'}${fraction.padEnd(9, '0').slice(0, 9)}`);
  return sign === '-' ? -scaled : scaled;
}

/** The project's name for a DuckDB column or result type (columnsOf, describeQuery); BigQuery's integers are all INT64, its decimals NUMERIC. */
export function columnTypeOf(type: string): string {
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(type)) return 'INT64';
  if (/^(FLOAT|DOUBLE)$/.test(type)) return 'FLOAT64';
  if (type.startsWith('DECIMAL')) return 'NUMERIC';
  if (type === 'VARCHAR') return 'STRING';
  if (type === 'BOOLEAN') return 'BOOL';
  if (type.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  return type;
}

/**
 * Where DuckDB's message points: `LINE n:` and a caret under the snippet of that line it quotes
 * (cut with `...` when long, so the snippet is looked up in the line to place the caret).
 */
function duckDbPosition(message: string, sql: string, prefixLength: number): SqlPosition | null {
  const match = /LINE (\d+): (.*)\n( *)\^/.exec(message);
  if (!match) return null;
  const line = Number(match[1]);
  const snippet = match[2] as string;
  const caret = (match[3] as string).length - `LINE ${line}: `.length;
  const text = rewriteParams(sql, '$').split('\n')[line - 1] ?? '';
  const lead = snippet.startsWith('...') ? 3 : 0;
  const at = text.indexOf(snippet.slice(lead).replace(/\.\.\.$/, ''));
  // Line 1 quoted whole carries the wrapper's prefix before the query's own text.
  const column = at >= 0 ? at + caret - lead : caret - (line === 1 ? prefixLength : 0);
  return { line, column: Math.max(1, column + 1) };
}

/** The rows' order on append: by the partition column, so DuckDB's zone maps prune by it. */
function orderBy(table: TableSchema): string {
  return table.partitionBy ? ` ORDER BY ${table.partitionBy}` : '';
}

/** A timestamp appendCsvFile takes (see the port): RE2 syntax, years 1000 to 9999. */
const PLAIN_TIMESTAMP =
  '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?| UTC)?)?';

/**
 * Plain text: printable ASCII other than `"` at both ends (so nothing csv-parse would trim, and
 * no quote), no `"` inside, at most `maxLength` code points (RE2 counts a class once per code
 * point). One regular expression costs about half what four string functions do.
 */
function plainText(maxLength: number | undefined): string {
  const inside = maxLength === undefined ? '*' : `{0,${Math.max(0, maxLength - 2)}}`;
  return maxLength === 1 ? '[!#-~]' : `[!#-~]([^"]${inside}[!#-~])?`;
}

/** The name of a TIMESTAMP column's first reading (a plain cast), computed once below the checks. */
const castOnce = (name: string): string => `${name}__as_timestamp`;

/**
 * One CSV cell (text) as a column of the table, or error() when it is not plainly valid (the
 * rules are the port's). A CASE evaluates each branch only for the rows that reach it, so the
 * common spelling of a timestamp costs a cast and its printing, not a regular expression (the
 * length keeps out what prints as it reads but is no date, such as 'infinity').
 */
function plainValue(column: ColumnSchema, maxLength: number | undefined): string | undefined {
  const name = column.name;
  const refuse = `error('not plainly valid: ${name}')`;
  const empty = `${name} IS NULL OR ${name} = ''`;
  const missing = column.required ? refuse : 'NULL';
  switch (column.type) {
    case 'STRING':
      return `CASE WHEN ${empty} THEN ${missing} WHEN regexp_full_match(${name}, '${plainText(maxLength)}') THEN ${name} ELSE ${refuse} END AS ${name}`;
    case 'TIMESTAMP':
      return `CASE WHEN ${empty} THEN ${missing}
        WHEN strlen(${name}) = 19 AND CAST(${castOnce(name)} AS VARCHAR) = ${name} THEN ${castOnce(name)}
        WHEN regexp_full_match(${name}, '${PLAIN_TIMESTAMP}') AND try_cast(${name} AS TIMESTAMPTZ) IS NOT NULL THEN CAST(CAST(${name} AS TIMESTAMPTZ) AS TIMESTAMP)
        ELSE ${refuse} END AS ${name}`;
    case 'INT64':
      return `CASE WHEN ${empty} THEN ${missing} WHEN regexp_full_match(${name}, '-?[0-9]{1,15}') THEN CAST(${name} AS BIGINT) ELSE ${refuse} END AS ${name}`;
    default:
      return undefined;
  }
}

function castColumn(column: ColumnSchema): string {
  return `CAST(${column.name} AS ${DUCKDB_TYPES[column.type].sql}) AS ${column.name}`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Lock and write-write conflicts may pass; everything else (syntax, types, constraints) will fail again. */
function asWarehouseError(error: unknown, what: string): WarehouseError {
  if (error instanceof WarehouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/Catalog Error: (Table|Schema) with name \S+ does not exist/i.test(message))
    return new TableNotFoundError(`DuckDB failed on ${what}: ${message}`, { cause: error });
  return new WarehouseError(`DuckDB failed on ${what}: ${message}`, {
    cause: error,
    transient: /Conflict|Could not set lock/i.test(message),
  });
}

type ColumnAppender = { name: string; append: (typeof APPEND)[ParamType] };

function appendersOf(table: TableSchema): ColumnAppender[] {
  return table.columns.map((column) => ({ name: column.name, append: APPEND[column.type] }));
}

/** Appends rows in the table's column order; a missing or null value is a NULL. */
function appendTo(appender: DuckDBAppender, columns: ColumnAppender[], rows: Row[]): void {
  for (const row of rows) {
    for (const column of columns) {
      const value = row[column.name];
      if (value === null || value === undefined) appender.appendNull();
      else column.append(appender, value);
    }
    appender.endRow();
  }
}
