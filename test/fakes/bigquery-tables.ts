/**
 * The tables behind the BigQuery fake, for tests that need BigQuery to hold rows: an in-memory
 * DuckDB database with the embedded warehouse's compatibility layer, so the GoogleSQL the BigQuery
 * adapter sends runs unchanged (its dialect is checked separately, by ZetaSQL). It behaves like
 * BigQuery where a reliability test needs it to:
 * - each job runs on a connection of its own: a script's transaction sees its own writes, and no
 *   other job sees them before COMMIT (BigQuery's snapshot isolation);
 * - two transactions that mutate (update, delete, merge into) one table conflict, at table
 *   granularity as on BigQuery (DuckDB alone conflicts on rows): the later one to commit is aborted
 *   with BigQuery's words, and so is one that DuckDB stops on a row conflict; inserts do not
 *   conflict;
 * - DML statements outside a transaction that mutate one table are queued and run one after the
 *   other, as BigQuery queues them; inserts run side by side;
 * - a script that ends inside a transaction is rolled back and fails, as BigQuery's does;
 * - `dataset.INFORMATION_SCHEMA.PARTITIONS` lists a day-partitioned table's partitions (UTC days
 *   of its partition column) with a last_modified_time that moves when a partition's rows change,
 *   as BigQuery's does. The fake finds changes when the view is read, so commits pay nothing for
 *   it, and stamps them from a clock of its own (ever later, the same for the same history);
 * - sharded tables (the GA4 export's, put there by `replaceShard`): a wildcard table
 *   `` `dataset.events_*` `` is the union of the dataset's tables of that prefix with their
 *   `_TABLE_SUFFIX` (every one: the fake does not prune, so a query that forgot its suffix filter
 *   is caught by ZetaSQL's review of the SQL, not here), `FROM UNNEST(a) AS p` reads nested
 *   fields, and `dataset.__TABLES__` lists each shard's last_modified_time (milliseconds).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DuckDBConnection,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  dateValueFromDate,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { paramNames, rewriteParams, splitStatements } from '../../shared/sql';
import { columnTypeOf, COMPATIBILITY_LAYER, DUCKDB_TYPES } from '../../shared/warehouse/duckdb';
import type { ParamType } from '../../shared/warehouse/warehouse';

/** A query parameter as the REST API carries it. */
export interface RestParameter {
  name: string;
  parameterType: { type: string };
  parameterValue?: { value?: string | null };
}

/** A REST table schema field. */
export interface RestField {
  name: string;
  type: string;
  mode?: string;
}

/** A job's result in REST terms: values as strings, TIMESTAMP as int64 microseconds. */
export interface TableResult {
  fields: RestField[];
  rows: (string | null)[][];
}

/** A failed job's error, as BigQuery reports it. */
export class JobFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The REST API's legacy type names, as the project's (GoogleSQL) names. */
const LEGACY_NAMES: Record<string, ParamType> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };

/** A REST type name's DuckDB type, as the embedded warehouse declares it; STRING for anything else. */
function duckDbType(restName: string): { sql: string; type: DuckDBType } {
  const name = LEGACY_NAMES[restName] ?? restName;
  return name in DUCKDB_TYPES ? DUCKDB_TYPES[name as ParamType] : DUCKDB_TYPES.STRING;
}

/** DuckDB's result types in the REST API's names: the embedded warehouse's reading, in the legacy names (INTEGER, FLOAT, BOOLEAN). */
function restType(engineType: string): string {
  const name = columnTypeOf(engineType);
  return (
    Object.entries(LEGACY_NAMES).find(([, standard]) => standard === name)?.[0] ??
    (name in DUCKDB_TYPES ? name : 'STRING')
  );
}

/**
 * The table a DML or DDL statement writes (as `dataset.table` once translated), and whether it
 * mutates it: BigQuery queues and conflicts statements that update or delete rows, while inserts
 * (an INSERT, or a MERGE with only a WHEN NOT MATCHED ... INSERT clause) run side by side.
 */
function statementWrites(statement: string): { table: string; mutating: boolean } | null {
  const code = statement.replace(/--[^\n]*\n/g, '').trim();
  const match =
    /^(INSERT\s+INTO|MERGE\s+INTO|MERGE|DELETE\s+FROM|DELETE|UPDATE|TRUNCATE\s+TABLE|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE)\s+(\w+\.\w+)/i.exec(
      code,
    );
  if (!match) return null;
  const verb = (match[1] as string).toUpperCase();
  const insertOnly =
    verb.startsWith('INSERT') ||
    (verb.startsWith('MERGE') && !/WHEN\s+MATCHED|NOT\s+MATCHED\s+BY\s+SOURCE/i.test(code));
  return { table: (match[2] as string).toLowerCase(), mutating: !insertOnly };
}

/** What a transaction wrote since it began: every table, and those it mutated (the ones that conflict). */
interface Writes {
  start: number;
  written: Set<string>;
  mutated: Set<string>;
}

function keyword(statement: string): string {
  return statement
    .replace(/--[^\n]*\n/g, '')
    .trim()
    .replace(/\s+/g, ' ')
    .toUpperCase();
}

export class FakeTables {
  /** Commits so far; a transaction remembers the count it began at. */
  private commits = 0;
  /** The commit count at which each table was last mutated. */
  private readonly lastMutation = new Map<string, number>();
  /** DML statements outside a transaction, queued per table. */
  private readonly dmlQueues = new Map<string, Promise<unknown>>();
  /** Commits are checked and applied one at a time, as BigQuery's are per table. */
  private commitQueue: Promise<unknown> = Promise.resolve();
  /** Called when a transaction reaches COMMIT, with the tables it wrote; the commit waits for it (see holdNextCommit). */
  private beforeCommit: ((writes: string[]) => Promise<void>) | null = null;
  /** The partition column of each day-partitioned table (`dataset.table`). */
  private readonly partitionColumns = new Map<string, string>();
  /** Each partition's rows, summed up, and when they last changed: INFORMATION_SCHEMA.PARTITIONS. */
  private readonly partitions = new Map<string, Map<string, { digest: string; modified: number }>>();
  /** The fake's clock for last_modified_time: a fixed start, a millisecond a change, so equal histories give equal times. */
  private lastModified = Date.parse('2026-01-01T00:00:00Z');
  /** When each shard (`dataset.table`) was last replaced, for `__TABLES__`. */
  private readonly shardModified = new Map<string, number>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly projectId: string,
  ) {}

  static async open(projectId: string): Promise<FakeTables> {
    return new FakeTables(await DuckDBInstance.create(':memory:'), projectId);
  }

  close(): void {
    this.instance.closeSync();
  }

  async createDataset(dataset: string): Promise<void> {
    await this.withConnection((connection) => connection.run(`CREATE SCHEMA IF NOT EXISTS ${dataset}`));
  }

  /**
   * Holds the next transaction that writes `table` at its COMMIT: `reached` resolves when it gets
   * there, and it commits (or is aborted) once `release` is called. Other transactions pass.
   */
  holdNextCommit(table: string): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrived!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    let taken = false;
    this.beforeCommit = async (writes) => {
      if (taken || !writes.includes(table)) return;
      taken = true;
      arrived();
      await released;
    };
    return { reached, release };
  }

  /** Creates the table; false when it already exists (two clients may create one table at once). */
  async createTable(dataset: string, table: string, fields: RestField[], partitionColumn?: string): Promise<boolean> {
    if (partitionColumn !== undefined) this.partitionColumns.set(`${dataset}.${table}`.toLowerCase(), partitionColumn);
    const columns = fields.map(
      (field) => `${field.name} ${duckDbType(field.type).sql}${field.mode === 'REQUIRED' ? ' NOT NULL' : ''}`,
    );
    return this.withConnection(async (connection) => {
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${dataset}`);
      try {
        await connection.run(`CREATE TABLE ${dataset}.${table} (${columns.join(', ')})`);
        return true;
      } catch (error) {
        if (/already exists/i.test(String(error))) return false;
        throw error;
      }
    });
  }

  /** A table's fields as BigQuery's tables.get reports them; null when there is no such table. */
  async fields(dataset: string, table: string): Promise<RestField[] | null> {
    return this.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        'SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE schema_name = $dataset AND table_name = $table ORDER BY column_index',
        { dataset, table },
      );
      const rows = reader.getRowObjectsJS();
      if (rows.length === 0) return null;
      return rows.map((row) => ({
        name: String(row.column_name),
        type: restType(String(row.data_type)),
        mode: row.is_nullable ? 'NULLABLE' : 'REQUIRED',
      }));
    });
  }

  /** Every row of a table, ordered, as one string: equal checksums mean equal tables. */
  async checksum(dataset: string, table: string): Promise<string> {
    return this.withConnection(async (connection) =>
      JSON.stringify((await connection.runAndReadAll(`SELECT * FROM ${dataset}.${table} ORDER BY ALL`)).getRowsJson()),
    );
  }

  /**
   * A load job's rows appended in one transaction, the way a load job lands whole or not at all.
   * A key the table has no column for fails the job, as BigQuery's JSON load does unless the job
   * sets ignoreUnknownValues (not modelled: the adapter never sets it).
   */
  async load(dataset: string, table: string, rows: Record<string, unknown>[]): Promise<number> {
    const fields = await this.fields(dataset, table);
    if (!fields) throw new JobFailure('notFound', `Not found: Table ${this.projectId}:${dataset}.${table}`);
    const known = new Set(fields.map((field) => field.name));
    const unknown = rows.findIndex((row) => Object.keys(row).some((key) => !known.has(key)));
    if (unknown >= 0) {
      const key = Object.keys(rows[unknown] as object).find((name) => !known.has(name));
      throw new JobFailure(
        'invalid',
        `Error while reading data, error message: JSON parsing error in row starting at position 0: No such field: ${key}.`,
      );
    }
    const folder = mkdtempSync(path.join(tmpdir(), 'kpis-fake-load-'));
    const file = path.join(folder, 'rows.jsonl');
    try {
      writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      const columns = fields.map((field) => `'${field.name}': 'VARCHAR'`).join(', ');
      const casts = fields.map((field) => `CAST(${field.name} AS ${duckDbType(field.type).sql})`).join(', ');
      const written = `${dataset}.${table}`;
      await this.withConnection(async (connection) => {
        const start = this.commits;
        await connection.run('BEGIN TRANSACTION');
        await connection.run(
          `INSERT INTO ${written} SELECT ${casts} FROM read_json($file, format = 'newline_delimited', columns = {${columns}})`,
          { file },
        );
        await this.commit(connection, { start, written: new Set([written]), mutated: new Set() });
      });
      return rows.length;
    } catch (error) {
      throw asJobFailure(error);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /**
   * Replaces a shard with the rows of a newline-delimited JSON file of nested fields (`columns`:
   * DuckDB's read_json column types), as the GA4 export rewrites a day's table.
   */
  async replaceShard(dataset: string, table: string, file: string, columns: string): Promise<void> {
    await this.withConnection(async (connection) => {
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${dataset}`);
      await connection.run(
        `CREATE OR REPLACE TABLE ${dataset}.${table} AS SELECT * FROM read_json($file, format = 'newline_delimited', columns = {${columns}})`,
        { file },
      );
    });
    this.lastModified += 1;
    this.shardModified.set(`${dataset}.${table}`.toLowerCase(), this.lastModified);
  }

  /** `dataset.prefix*` as the union of the dataset's shards of that prefix, each with its `_TABLE_SUFFIX`. */
  private wildcardView(dataset: string, prefix: string): string {
    const shards = [...this.shardModified.keys()]
      .filter((name) => name.startsWith(`${dataset.toLowerCase()}.${prefix.toLowerCase()}`))
      .sort();
    if (shards.length === 0) return `${dataset}.${prefix}_no_such_table`;
    const suffix = (name: string) => name.slice(dataset.length + 1 + prefix.length);
    return `(${shards.map((name) => `SELECT *, '${suffix(name)}' AS _TABLE_SUFFIX FROM ${name}`).join(' UNION ALL BY NAME ')})`;
  }

  /** `dataset.__TABLES__`: each shard's table_id and last_modified_time (milliseconds), as BigQuery's meta-table gives them. */
  private tablesView(dataset: string): string {
    const rows = [...this.shardModified]
      .filter(([name]) => name.startsWith(`${dataset.toLowerCase()}.`))
      .map(([name, modified]) => `('${name.split('.')[1] as string}', ${modified}::BIGINT)`);
    const values = rows.length > 0 ? rows.join(', ') : "('', NULL::BIGINT)";
    return `(SELECT * FROM (VALUES ${values}) AS t(table_id, last_modified_time) WHERE table_id <> '')`;
  }

  /** Runs a query job (one statement or a script) on a connection of its own; the last statement's rows are its result. */
  async run(sql: string, parameters: RestParameter[]): Promise<TableResult> {
    const bound = bindParameters(parameters);
    return this.withConnection(async (connection) => {
      for (const [, dataset] of sql.matchAll(/`(?:[\w-]+\.)?(\w+)\.INFORMATION_SCHEMA\.PARTITIONS`/g)) {
        for (const table of this.partitionColumns.keys())
          if (table.startsWith(`${(dataset as string).toLowerCase()}.`)) await this.touchPartitions(connection, table);
      }
      let transaction: Writes | null = null;
      let result: TableResult = { fields: [], rows: [] };
      try {
        for (const statement of splitStatements(this.translate(sql))) {
          const word = keyword(statement);
          if (/^BEGIN( TRANSACTION)?$/.test(word)) {
            await connection.run('BEGIN TRANSACTION');
            transaction = { start: this.commits, written: new Set(), mutated: new Set() };
            continue;
          }
          if (/^COMMIT( TRANSACTION)?$/.test(word) && transaction) {
            await this.commit(connection, transaction);
            transaction = null;
            continue;
          }
          if (/^ROLLBACK( TRANSACTION)?$/.test(word) && transaction) {
            await connection.run('ROLLBACK');
            transaction = null;
            continue;
          }
          const names = paramNames(statement);
          const values: Record<string, DuckDBValue> = {};
          const types: Record<string, DuckDBType> = {};
          for (const name of names) {
            const param = bound[name];
            if (!param) throw new JobFailure('invalidQuery', `Query parameter '${name}' not found`);
            values[name] = param.value;
            types[name] = param.type;
          }
          const writes = statementWrites(statement);
          if (writes && !transaction) {
            // A DML statement outside a transaction commits on its own; BigQuery queues those that
            // mutate one table, so they run one after the other.
            const alone = async () => {
              const start = this.commits;
              await connection.run('BEGIN TRANSACTION');
              const reader = await connection.runAndReadAll(rewriteParams(statement, '$'), values, types);
              await this.commit(connection, {
                start,
                written: new Set([writes.table]),
                mutated: new Set(writes.mutating ? [writes.table] : []),
              });
              return restResult(reader);
            };
            result = writes.mutating ? await this.queued(writes.table, alone) : await alone();
            continue;
          }
          const reader = await connection.runAndReadAll(rewriteParams(statement, '$'), values, types);
          if (writes && transaction) {
            transaction.written.add(writes.table);
            if (writes.mutating) transaction.mutated.add(writes.table);
          }
          result = restResult(reader);
        }
        if (transaction)
          throw new JobFailure(
            'invalidQuery',
            'Transaction was not committed or rolled back before the end of the script',
          );
        return result;
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw asJobFailure(error);
      }
    });
  }

  /**
   * Commits unless another transaction committed a write to one of this one's tables since it
   * began: BigQuery aborts the later transaction on the same table, whichever rows it touched.
   */
  private async commit(connection: DuckDBConnection, transaction: Writes): Promise<void> {
    await this.beforeCommit?.([...transaction.written]);
    const run = this.commitQueue.then(async () => {
      const conflict = [...transaction.mutated].find(
        (table) => (this.lastMutation.get(table) ?? 0) > transaction.start,
      );
      if (conflict) {
        await connection.run('ROLLBACK');
        throw new JobFailure(
          'invalidQuery',
          `Transaction is aborted due to concurrent update against table ${this.projectId}.${conflict}.`,
        );
      }
      await connection.run('COMMIT');
      this.commits += 1;
      for (const table of transaction.mutated) this.lastMutation.set(table, this.commits);
    });
    this.commitQueue = run.catch(() => undefined);
    return run;
  }

  /** Before a read of the view: the partitions of `table` whose rows changed get a new last_modified_time. */
  private async touchPartitions(connection: DuckDBConnection, table: string): Promise<void> {
    const column = this.partitionColumns.get(table);
    if (column === undefined) return;
    const reader = await connection.runAndReadAll(
      `SELECT strftime(CAST(${column} AS DATE), '%Y%m%d') AS id, COUNT(*) || '/' || SUM(hash(t)) AS digest FROM ${table} AS t GROUP BY 1 ORDER BY 1`,
    );
    const before = this.partitions.get(table) ?? new Map<string, { digest: string; modified: number }>();
    const after = new Map<string, { digest: string; modified: number }>();
    for (const [id, digest] of reader.getRowsJS() as [string | null, string][]) {
      const known = before.get(id ?? '__NULL__');
      const modified = known?.digest === digest ? known.modified : (this.lastModified += 1);
      after.set(id ?? '__NULL__', { digest, modified });
    }
    this.partitions.set(table, after);
  }

  /** The rows of `dataset.INFORMATION_SCHEMA.PARTITIONS`, as a VALUES list DuckDB reads. */
  private partitionsView(dataset: string): string {
    const rows = [...this.partitions]
      .filter(([table]) => table.startsWith(`${dataset.toLowerCase()}.`))
      .flatMap(([table, partitions]) =>
        [...partitions].map(
          ([id, { modified }]) =>
            `('${table.split('.')[1] as string}', '${id}', make_timestamp(${modified * 1000}::BIGINT))`,
        ),
      );
    const values = rows.length > 0 ? rows.join(', ') : "('', '', NULL::TIMESTAMP)";
    return `(SELECT * FROM (VALUES ${values}) AS p(table_name, partition_id, last_modified_time) WHERE table_name <> '')`;
  }

  /** Runs `work` after every earlier queued statement on `table` has finished. */
  private queued<T>(table: string, work: () => Promise<T>): Promise<T> {
    const run = (this.dmlQueues.get(table) ?? Promise.resolve()).then(work);
    this.dmlQueues.set(
      table,
      run.catch(() => undefined),
    );
    return run;
  }

  /** GoogleSQL table names (`project.dataset.table`) as DuckDB's schema-qualified ones. */
  private translate(sql: string): string {
    return (
      sql
        .replaceAll(`\`${this.projectId}.`, '`')
        .replace(/`(\w+)\.INFORMATION_SCHEMA\.PARTITIONS`/g, (_match, dataset: string) => this.partitionsView(dataset))
        .replace(/`(\w+)\.(\w+)\*`/g, (_match, dataset: string, prefix: string) => this.wildcardView(dataset, prefix))
        .replace(/`(\w+)\.__TABLES__`/g, (_match, dataset: string) => this.tablesView(dataset))
        // DuckDB names an unnested struct's fields through a column alias, not a table alias.
        .replace(/\bFROM UNNEST\((\w+)\) AS (\w+)/g, 'FROM (SELECT UNNEST($1) AS $2)')
        .replace(/`(\w+)\.(\w+)`/g, '$1.$2')
    );
  }

  private async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.instance.connect();
    try {
      for (const statement of COMPATIBILITY_LAYER) await connection.run(statement);
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  }
}

/** The REST API's parameter strings as DuckDB values of the declared types. */
function bindParameters(parameters: RestParameter[]): Record<string, { value: DuckDBValue; type: DuckDBType }> {
  const bound: Record<string, { value: DuckDBValue; type: DuckDBType }> = {};
  for (const parameter of parameters) {
    const declared = parameter.parameterType.type;
    const text = parameter.parameterValue?.value ?? null;
    const { type } = duckDbType(declared);
    bound[parameter.name] = { value: text === null ? null : restValue(text, declared), type };
  }
  return bound;
}

function restValue(text: string, declared: string): DuckDBValue {
  switch (declared) {
    case 'DATE':
      return dateValueFromDate(new Date(`${text}T00:00:00Z`));
    case 'TIMESTAMP':
      return new DuckDBTimestampValue(BigInt(Date.parse(text.replace(' ', 'T'))) * 1000n);
    case 'INT64':
    case 'INTEGER':
      return BigInt(text);
    case 'FLOAT64':
    case 'FLOAT':
      return Number(text);
    case 'NUMERIC': {
      const [whole = '0', fraction = ''] = text.split('.');
      return new DuckDBDecimalValue(BigInt(`${whole}${fraction.padEnd(9, '0').slice(0, 9)}`), 38, 9);
    }
    case 'BOOL':
    case 'BOOLEAN':
      return text === 'true';
    default:
      return text;
  }
}

function restResult(reader: DuckDBResultReader): TableResult {
  const types = reader.columnTypes().map((type) => type.toString());
  const fields = reader.columnNames().map((name, index) => ({ name, type: restType(types[index] as string) }));
  const rows = reader.getRows().map((values) =>
    values.map((value, index) => {
      if (value === null) return null;
      if (value instanceof DuckDBTimestampValue) return String(value.micros);
      if (fields[index]?.type === 'BOOLEAN') return value ? 'true' : 'false';
      return String(value);
    }),
  );
  return { fields, rows };
}

/** DuckDB's errors in BigQuery's terms: a missing table is notFound, a row conflict a concurrent-update abort. */
function asJobFailure(error: unknown): JobFailure {
  if (error instanceof JobFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  const missing = /Catalog Error: (Table|Schema) with name (\S+) does not exist/i.exec(message);
  if (missing) return new JobFailure('notFound', `Not found: ${missing[1]} ${missing[2]} was not found in location US`);
  if (/Conflict/i.test(message))
    return new JobFailure(
      'invalidQuery',
      `Transaction is aborted due to concurrent update against table (${message}).`,
    );
  return new JobFailure('invalidQuery', message);
}
