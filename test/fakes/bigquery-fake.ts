/**
 * A local HTTP fake of the BigQuery REST API (v2), enough for @google-cloud/bigquery to insert
 * query and load jobs, read results and create datasets and tables. It records every request so
 * tests can assert what the real client library sent, and can be told to fail in the ways
 * BigQuery does: a lost response, a 5xx, or a job that ends in error.
 *
 * By default a query job returns what `results` says for its SQL and no table holds rows. Started
 * with `{ tables: true }`, the fake keeps real tables (bigquery-tables.ts): jobs run their SQL,
 * load jobs append rows, and transactions conflict as BigQuery's do.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeTables, JobFailure, type RestField, type RestParameter } from './bigquery-tables';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** Raw body text, for multipart uploads. */
  text: string;
}

/** What the next job insert does, in order; once the list is empty, inserts succeed. */
export type InsertBehaviour =
  | { kind: 'none' } // behave normally (a placeholder, to fault a later insert)
  | { kind: 'lose-response' } // create the job, then answer 503 as if the response was lost
  | { kind: 'http-error'; status: number; reason: string } // answer an error without creating the job
  | { kind: 'job-error'; reason: string; message: string }; // create a job that ends in error

interface JobResource {
  jobReference: { projectId: string; jobId: string; location: string };
  configuration: Record<string, unknown>;
  status: { state: 'RUNNING' | 'DONE'; errorResult?: unknown; errors?: unknown[] };
  statistics: Record<string, unknown>;
}

type QueryResult = { fields: { name: string; type: string }[]; rows: unknown[][] };

export class BigQueryFake {
  /** The tables jobs read and write, with `{ tables: true }`. */
  tableStore: FakeTables | null = null;
  readonly requests: RecordedRequest[] = [];
  readonly jobs = new Map<string, JobResource>();
  /** As on BigQuery, a job's result is fixed when it runs: reading it again later gives the same rows. */
  private readonly jobResults = new Map<string, QueryResult>();
  readonly datasets = new Set<string>();
  readonly tables = new Map<string, Record<string, unknown>>();
  /** Jobs that ran: a statement run twice shows up here twice. */
  readonly executed: string[] = [];
  insertBehaviours: InsertBehaviour[] = [];
  /** HTTP statuses the next dataset and table requests answer with, in order (0: answer normally). */
  metadataFailures: number[] = [];
  /** HTTP statuses the next results requests answer with, in order, as if their responses were lost. */
  resultsFailures: number[] = [];
  /**
   * Rows a query job returns, by its SQL file (`labels.sql_file`, e.g. monitors-coverage: see
   * sqlFileLabel) or, for a statement without one, its SQL text.
   */
  results: (sql: string, labels: Readonly<Record<string, string>>) => QueryResult = () => ({ fields: [], rows: [] });
  bytesProcessed = 123_456_789;
  /** The message of the next injected http-error, when a test needs BigQuery's exact words. */
  errorMessage: string | undefined;
  private server?: http.Server;
  url = '';

  constructor(private readonly options: { tables?: boolean; projectId?: string } = {}) {}

  async start(): Promise<this> {
    if (this.options.tables) this.tableStore = await FakeTables.open(this.options.projectId ?? 'demo-project');
    this.server = http.createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        let body: unknown;
        try {
          body = text && req.headers['content-type']?.includes('json') ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const recorded = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body, text };
        this.requests.push(recorded);
        // A fault of the fake itself still answers, as a 500, so no client waits for ever.
        void this.route(recorded)
          .catch((error: unknown): [number, unknown] => [
            500,
            apiError(500, 'internalError', `fake: ${error instanceof Error ? error.message : String(error)}`),
          ])
          .then(([status, payload]) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(payload));
          });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.tableStore?.close();
  }

  /** The job inserts received, query and load alike. */
  jobInserts(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && /\/projects\/[^/]+\/jobs$/.test(r.path));
  }

  private async route(req: RecordedRequest): Promise<[number, unknown]> {
    const match = /^(?:\/upload)?\/bigquery\/v2\/projects\/([^/]+)\/(.*)$/.exec(req.path);
    if (!match) return notFound(req.path);
    const [, project, rest] = match as unknown as [string, string, string];
    if (rest.startsWith('datasets')) {
      const failure = this.metadataFailures.shift();
      if (failure !== undefined && failure !== 0)
        return [
          failure,
          apiError(failure, failure >= 500 ? 'backendError' : 'accessDenied', 'injected metadata failure'),
        ];
    }
    if (req.method === 'POST' && rest === 'jobs')
      return req.path.startsWith('/upload') ? this.insertLoad(project, req) : this.insertQuery(req);
    let m: RegExpExecArray | null;
    if ((m = /^jobs\/([^/]+)$/.exec(rest)) && req.method === 'GET') {
      const job = this.jobs.get(m[1] as string);
      return job ? [200, job] : notFound(`job ${m[1]}`);
    }
    if ((m = /^queries\/([^/]+)$/.exec(rest)) && req.method === 'GET')
      return this.queryResults(m[1] as string, req.query);
    if (rest === 'datasets' && req.method === 'POST') {
      const id = (req.body as { datasetReference: { datasetId: string } }).datasetReference.datasetId;
      if (this.datasets.has(id)) return [409, apiError(409, 'duplicate', `Already Exists: Dataset ${project}:${id}`)];
      this.datasets.add(id);
      await this.tableStore?.createDataset(id);
      return [200, req.body];
    }
    if ((m = /^datasets\/([^/]+)$/.exec(rest)) && req.method === 'GET') {
      return this.datasets.has(m[1] as string)
        ? [200, { datasetReference: { projectId: project, datasetId: m[1] } }]
        : notFound(`Dataset ${m[1]}`);
    }
    if ((m = /^datasets\/([^/]+)\/tables$/.exec(rest)) && req.method === 'POST') {
      const id = `${m[1]}.${(req.body as { tableReference: { tableId: string } }).tableReference.tableId}`;
      const metadata = req.body as {
        tableReference: { tableId: string };
        schema?: { fields: RestField[] };
        timePartitioning?: { field?: string };
      };
      if (this.tableStore) {
        if (
          !(await this.tableStore.createTable(
            m[1] as string,
            metadata.tableReference.tableId,
            metadata.schema?.fields ?? [],
            metadata.timePartitioning?.field,
          ))
        )
          return [409, apiError(409, 'duplicate', `Already Exists: Table ${id}`)];
      } else if (this.tables.has(id)) return [409, apiError(409, 'duplicate', `Already Exists: Table ${id}`)];
      this.tables.set(id, req.body as Record<string, unknown>);
      return [200, req.body];
    }
    if ((m = /^datasets\/([^/]+)\/tables\/([^/]+)$/.exec(rest)) && req.method === 'GET')
      return this.tableMetadata(project, m[1] as string, m[2] as string);
    return notFound(req.path);
  }

  /** tables.get: what was created, with the schema the tables hold now (a table dropped by SQL is gone). */
  private async tableMetadata(project: string, dataset: string, table: string): Promise<[number, unknown]> {
    const stored = this.tables.get(`${dataset}.${table}`);
    if (!this.tableStore) return stored ? [200, stored] : notFound(`Table ${dataset}.${table}`);
    const fields = await this.tableStore.fields(dataset, table);
    if (!fields) return notFound(`Table ${project}:${dataset}.${table}`);
    return [
      200,
      { ...stored, tableReference: { projectId: project, datasetId: dataset, tableId: table }, schema: { fields } },
    ];
  }

  private async insertQuery(req: RecordedRequest): Promise<[number, unknown]> {
    const body = req.body as { jobReference: JobResource['jobReference']; configuration: Record<string, unknown> };
    const { jobId } = body.jobReference;
    if (this.jobs.has(jobId))
      return [
        409,
        apiError(
          409,
          'duplicate',
          `Already Exists: Job ${body.jobReference.projectId}:${body.jobReference.location}.${jobId}`,
        ),
      ];
    const behaviour = this.insertBehaviours.shift();
    if (behaviour?.kind === 'http-error')
      return [
        behaviour.status,
        apiError(behaviour.status, behaviour.reason, this.errorMessage ?? `injected ${behaviour.reason}`),
      ];
    const configuration = body.configuration.query as { query: string; queryParameters?: RestParameter[] };
    const dryRun = body.configuration.dryRun === true;
    const job: JobResource = {
      jobReference: body.jobReference,
      configuration: body.configuration,
      status: { state: 'DONE' },
      statistics: {
        totalBytesProcessed: String(this.bytesProcessed),
        query: { totalBytesProcessed: String(this.bytesProcessed) },
      },
    };
    // A dry run says what the query would return, as BigQuery's does.
    if (dryRun)
      return [
        200,
        {
          ...job,
          statistics: {
            ...job.statistics,
            query: {
              ...(job.statistics.query as object),
              schema: { fields: this.results(String(configuration.query), jobLabels(body.configuration)).fields },
            },
          },
        },
      ];
    // The id is taken before the job runs: a second insert under it while it runs is a duplicate,
    // and whoever attaches sees it RUNNING until it is done.
    job.status = { state: 'RUNNING' };
    this.jobs.set(jobId, job);
    this.executed.push(jobId);
    let failure: { reason: string; message: string } | null =
      behaviour?.kind === 'job-error' ? { reason: behaviour.reason, message: behaviour.message } : null;
    if (!failure) {
      try {
        // As on BigQuery, a job's result is fixed when it runs.
        this.jobResults.set(
          jobId,
          this.tableStore
            ? await this.tableStore.run(configuration.query, configuration.queryParameters ?? [])
            : this.results(String(configuration.query), jobLabels(body.configuration)),
        );
      } catch (error) {
        if (!(error instanceof JobFailure)) throw error;
        failure = { reason: error.reason, message: error.message };
      }
    }
    job.status = failure ? { state: 'DONE', errorResult: failure, errors: [failure] } : { state: 'DONE' };
    if (behaviour?.kind === 'lose-response')
      return [503, apiError(503, 'backendError', 'injected: the job was created but the response was lost')];
    return [200, job];
  }

  /** A multipart upload: the first part is the job's JSON metadata, the second the file. */
  private async insertLoad(project: string, req: RecordedRequest): Promise<[number, unknown]> {
    const metadataText =
      /\{[\s\S]*?"configuration"[\s\S]*?\}\s*\r?\n--/.exec(req.text)?.[0].replace(/\r?\n--$/, '') ?? '{}';
    const metadata = JSON.parse(metadataText) as {
      jobReference?: { jobId: string; location?: string };
      configuration: Record<string, unknown>;
    };
    const jobId = metadata.jobReference?.jobId ?? `load_${this.jobs.size}`;
    const parts = req.text.split(/\r?\n--[^\r\n]+/);
    const data =
      parts.find((part) => part.includes('application/octet-stream') || part.includes('application/json') === false) ??
      '';
    const lines = data
      .split(/\r?\n\r?\n/)
      .slice(1)
      .join('\n\n')
      .split(/\r?\n/)
      .filter((line) => line.startsWith('{'));
    const job: JobResource = {
      jobReference: { projectId: project, jobId, location: metadata.jobReference?.location ?? 'US' },
      configuration: metadata.configuration,
      status: { state: 'DONE' },
      statistics: { load: { outputRows: String(lines.length) } },
    };
    this.jobs.set(jobId, job);
    this.executed.push(jobId);
    const destination = (
      metadata.configuration.load as { destinationTable?: { datasetId: string; tableId: string } } | undefined
    )?.destinationTable;
    if (this.tableStore && destination) {
      try {
        await this.tableStore.load(
          destination.datasetId,
          destination.tableId,
          lines.map((line) => JSON.parse(line) as Record<string, unknown>),
        );
      } catch (error) {
        if (!(error instanceof JobFailure)) throw error;
        const failure = { reason: error.reason, message: error.message };
        job.status = { state: 'DONE', errorResult: failure, errors: [failure] };
      }
    }
    return [200, job];
  }

  private queryResults(jobId: string, query: URLSearchParams): [number, unknown] {
    const failure = this.resultsFailures.shift();
    if (failure !== undefined) return [failure, apiError(failure, 'backendError', 'injected: results response lost')];
    const job = this.jobs.get(jobId);
    if (!job) return notFound(`job ${jobId}`);
    if (job.status.errorResult) {
      const error = job.status.errorResult as { reason: string; message: string };
      return [400, apiError(400, error.reason, error.message)];
    }
    if (job.status.state === 'RUNNING')
      return [200, { kind: 'bigquery#getQueryResultsResponse', jobReference: job.jobReference, jobComplete: false }];
    const { fields, rows } = this.jobResults.get(jobId) ?? { fields: [], rows: [] };
    // The table store gives TIMESTAMP as int64 microseconds; without that format option, float seconds.
    const seconds = this.tableStore !== null && query.get('formatOptions.useInt64Timestamp') !== 'true';
    return [
      200,
      {
        kind: 'bigquery#getQueryResultsResponse',
        jobReference: job.jobReference,
        jobComplete: true,
        schema: { fields },
        rows: rows.map((row) => ({
          f: row.map((v, index) => ({
            v: v === null ? null : seconds && fields[index]?.type === 'TIMESTAMP' ? String(Number(v) / 1e6) : String(v),
          })),
        })),
        totalRows: String(rows.length),
      },
    ];
  }
}

function apiError(code: number, reason: string, message: string) {
  return { error: { code, message, errors: [{ reason, message, domain: 'global' }], status: reason } };
}

function notFound(what: string): [number, unknown] {
  return [404, apiError(404, 'notFound', `Not found: ${what}`)];
}

/** A job's labels, as the client sent them in its configuration. */
export function jobLabels(configuration: Record<string, unknown>): Readonly<Record<string, string>> {
  return (configuration.labels ?? {}) as Record<string, string>;
}
