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
import { describeStatement, paramNames, rewriteParams } from '../sql';
import { canonicalTimestamp, timestampMicros } from '../timestamps';
import type { Cell, DryRunResult, JobContext, ParamType, QueryParam, QueryParams, QueryShape, Row, Warehouse } from './warehouse';

/**
 * What DuckDB lacks of BigQuery's dialect, run on every new connection:
 * - TimeZone UTC, so DATE(ts) and timestamp literals mean what they mean on BigQuery;
 * - FLOAT64, BigQuery's name for DOUBLE (STRING and INT64 are built-in aliases already);
 * - SAFE_DIVIDE, BigQuery's NULL-on-zero division;
 * - DATETIME(ts, zone), BigQuery's wall-clock time of an instant in a zone (ICU is built in), so
 *   `DATE(DATETIME(time, @time_zone))` is an event's local day on both engines. DuckDB parses
 *   `DATE(x, y)` as a cast and rejects it, hence the detour through DATETIME.
 * `@name` parameters become `$name` in `bind()` below; backticks never reach DuckDB because table
 * names are rendered by `tableRef`.
 */
export const COMPATIBILITY_LAYER = [
  "SET TimeZone = 'UTC'",
  'CREATE TYPE IF NOT EXISTS FLOAT64 AS DOUBLE',
  'CREATE OR REPLACE TEMP MACRO safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END',
  // UTC skips the conversion (DuckDB evaluates a CASE branch only for the rows that take it).
  "CREATE OR REPLACE TEMP MACRO datetime(ts, zone) AS CASE WHEN zone = 'UTC' THEN ts ELSE timezone(zone, CAST(ts AS TIMESTAMPTZ)) END",
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
/** Work keys remembered (see runScript). */
const MAX_REMEMBERED_SCRIPTS = 10_000;

export class DuckDbWarehouse implements Warehouse {
  readonly engine = 'duckdb';
  /** One connection, used by one call at a time, so a transaction never interleaves with another call. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Schemas and tables known to exist; this process is the file's only writer. */
  private readonly ensured = new Set<string>();
  /** Scripts run with a work key, running or succeeded, by key (see runScript). */
  private readonly scripts = new Map<string, Promise<void>>();

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
      throw new WarehouseError(`cannot open DuckDB warehouse ${location}: ${message}${hint}`, { cause: error, transient: false });
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
        const row: Row = {};
        values.forEach((value, index) => {
          row[names[index] as string] = normalizeCell(value, types[index] as string);
        });
        return row;
      });
    });
  }

  /**
   * A script with a work key runs once, as a BigQuery job with that id does: a second call with the
   * same key while it runs, or after it succeeded, re-attaches to it; after a failure it runs again.
   * This process is the file's only writer, so the scripts it ran are all the jobs there are.
   */
  runScript(statements: string[], params: QueryParams, context: JobContext | undefined, options: { atomic: boolean }): Promise<void> {
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

  describeQuery(sql: string, params: QueryParams): Promise<QueryShape> {
    // On the first line, so the engine's line numbers are the query's own.
    const prefix = 'SELECT * FROM (';
    return this.exclusive(async () => {
      let reader;
      try {
        const { values, types } = bind(sql, params);
        reader = await this.connection.runAndReadAll(`${prefix}${rewriteParams(sql, '$')}\n) AS q LIMIT 0`, values, types);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new QueryError(`DuckDB rejected the query: ${message}`, { cause: error, position: duckDbPosition(message, sql, prefix.length) });
      }
      const names = reader.columnNames();
      const columns = reader.columnTypes().map((type, index) => ({ name: names[index] as string, type: columnTypeOf(type.toString()) }));
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

  ensureDataset(dataset: string): Promise<void> {
    if (this.ensured.has(dataset)) return Promise.resolve();
    return this.exclusive(async () => {
      await this.connection.run(`CREATE SCHEMA IF NOT EXISTS ${dataset}`);
      this.ensured.add(dataset);
    });
  }

  columnsOf(dataset: string, table: string): Promise<{ name: string; type: string }[] | null> {
    return this.exclusive(async () => {
      const reader = await this.connection.runAndReadAll(
        'SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $dataset AND table_name = $table ORDER BY column_index',
        { dataset, table },
      );
      const rows = reader.getRowObjectsJS();
      return rows.length === 0 ? null : rows.map((row) => ({ name: String(row.column_name), type: String(row.data_type) }));
    });
  }

  ensureTable(table: TableSchema): Promise<void> {
    const ref = this.tableRef(table.dataset, table.table);
    const columns = table.columns.map((column) => `${column.name} ${DUCKDB_TYPES[column.type].sql}${column.required ? ' NOT NULL' : ''}`);
    return this.exclusive(async () => {
      // Every run ensures its tables: remember what exists rather than write the catalog each time.
      if (this.ensured.has(ref)) return;
      const existing = await this.connection.runAndReadAll('SELECT 1 FROM duckdb_tables() WHERE schema_name = $dataset AND table_name = $table', {
        dataset: table.dataset,
        table: table.table,
      });
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
        const columns = table.columns.map((column) => ({ name: column.name, append: APPEND[column.type] }));
        for (const row of rows) {
          for (const column of columns) {
            const value = row[column.name];
            if (value === null || value === undefined) appender.appendNull();
            else column.append(appender, value);
          }
          appender.endRow();
        }
        appender.closeSync();
        await this.connection.run('COMMIT');
        return rows.length;
      } catch (error) {
        await this.rollbackQuietly();
        throw asWarehouseError(error, `append to ${table.dataset}.${table.table}`);
      }
    });
  }

  appendParquet(table: TableSchema, file: string): Promise<number> {
    return this.exclusive(async () => {
      let described;
      try {
        described = await this.connection.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($path)', { path: file });
      } catch (error) {
        throw new InputFileError(`${file}: not a readable Parquet file: ${(error as Error).message}`, { cause: error });
      }
      const present = new Set(described.getRowObjectsJS().map((row) => String(row.column_name)));
      const missing = table.columns.filter((column) => column.required && !present.has(column.name)).map((column) => column.name);
      if (missing.length > 0) throw new InputFileError(`${file}: missing required column(s) ${missing.join(', ')}`);
      const select = table.columns.map((column) => (present.has(column.name) ? castColumn(column) : `NULL AS ${column.name}`));
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

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Runs statements one by one; with `finish`, inside a transaction closed by COMMIT or ROLLBACK. */
  private async runStatements(statements: string[], params: QueryParams, finish?: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    if (finish) await this.connection.run('BEGIN TRANSACTION');
    try {
      for (const statement of statements) await this.execute(statement, params);
      if (finish) await this.connection.run(finish);
    } catch (error) {
      if (finish) await this.rollbackQuietly();
      throw error;
    } finally {
      // BigQuery drops a script's temp tables when the script ends; this connection lives on.
      for (const statement of statements) {
        for (const [, name] of statement.matchAll(CREATE_TEMP_TABLE)) await this.connection.run(`DROP TABLE IF EXISTS temp.main.${name}`);
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
function bind(sql: string, params: QueryParams): { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> } {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const name of paramNames(sql)) {
    const param = params[name];
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
  if (!match || (match[2] === '' && !match[3])) throw new WarehouseError(`not a NUMERIC value: ${JSON.stringify(text)}`, { transient: false });
  const [, sign, whole, fraction = ''] = match;
  const scaled = BigInt(`${whole || '0'}${fraction.padEnd(9, '0').slice(0, 9)}`);
  return sign === '-' ? -scaled : scaled;
}

/** The project's name for a DuckDB result type; BigQuery's integers are all INT64, its decimals NUMERIC. */
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
  if (/Catalog Error: (Table|Schema) with name \S+ does not exist/i.test(message)) return new TableNotFoundError(`DuckDB failed on ${what}: ${message}`, { cause: error });
  return new WarehouseError(`DuckDB failed on ${what}: ${message}`, { cause: error, transient: /Conflict|Could not set lock/i.test(message) });
}
