/**
 * A stateful local fake of the Google Cloud admin REST APIs that deploy.sh reaches through the real
 * `gcloud` and `bq`: one HTTP server on 127.0.0.1. gcloud is pointed at it one API at a time
 * (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>=<url>/<api>/`, see `gcloudEnv`), so the first path segment
 * names the API; `bq` reads BigQuery's discovery document from `/$discovery/rest` and then calls
 * `/bigquery/v2/...`. Every request is recorded (method, API, path, body) and the resources form one
 * graph that a test reads back: projects and their IAM policies, enabled services, service accounts,
 * topics, subscriptions, Cloud Functions (2nd gen) with their Eventarc trigger, push subscription and
 * Cloud Run service, Eventarc triggers, Cloud Scheduler jobs, secrets and their versions, BigQuery
 * datasets and tables.
 *
 * Like Google Cloud: a missing resource is a 404 in the API's error shape (BigQuery's carries
 * `errors: [{reason, message}]`), creating an existing one is a 409, `setIamPolicy` with a stale
 * `etag` is a 409 ABORTED (read-modify-write), long-running operations are answered done with the
 * stages `gcloud functions deploy` tracks, a function's Eventarc trigger owns a push subscription
 * named like Google's, and enabling Pub/Sub gives its service agent `roles/pubsub.serviceAgent`.
 *
 * Not modelled: permissions (every caller may do everything), quotas, propagation delays, real
 * builds (the uploaded zip is kept, nothing is built or run), revisions and traffic, message
 * delivery (see the Pub/Sub emulator tests), field validation beyond what deploy.sh sends,
 * list pagination, update masks on anything but Pub/Sub subscriptions and functions (a patch merges
 * the fields sent), conditional IAM bindings, BigQuery dataset access entries (dataset IAM is kept
 * as a separate policy), and any API deploy.sh does not call.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface AdminRequest {
  method: string;
  /** The API the request went to: the first path segment (`pubsub`, `cloudfunctions`, ...), or `bigquery`. */
  api: string;
  /** The path below the API's prefix, without the query. */
  path: string;
  query: Record<string, string>;
  /** The raw body text (JSON, or the uploaded zip's size for an upload). */
  body: string;
}

export interface Binding {
  role: string;
  members: string[];
}

export interface Policy {
  version?: number;
  etag: string;
  bindings: Binding[];
}

type Resource = Record<string, unknown>;

/** The APIs gcloud calls for deploy.sh, by the name of its endpoint override. */
export const GCLOUD_APIS = [
  'serviceusage',
  'cloudresourcemanager',
  'iam',
  'pubsub',
  'cloudfunctions',
  'eventarc',
  'run',
  'cloudscheduler',
  'secretmanager',
] as const;

/** A request that changes something (what a second deploy must not send). */
export function isMutating(request: AdminRequest): boolean {
  if (request.method === 'GET') return false;
  if (request.method === 'POST' && /:(getIamPolicy|testIamPermissions|access)$/.test(request.path)) return false;
  return true;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new HttpError(404, 'NOT_FOUND', `Resource not found (resource=${what}).`);
const exists = (what: string) => new HttpError(409, 'ALREADY_EXISTS', `Resource already exists: ${what}`);

export class GcpAdminFake {
  readonly requests: AdminRequest[] = [];
  /** Resources by full name (`projects/P/topics/T`, `projects/P/datasets/D/tables/T`, ...). */
  readonly resources = new Map<string, Resource>();
  /** IAM policies by the full name of the resource they are on. */
  readonly policies = new Map<string, Policy>();
  /** Enabled services by project id. */
  readonly services = new Map<string, Set<string>>();
  /** Uploaded function sources by upload id. */
  readonly uploads = new Map<string, Buffer>();
  /**
   * Mutating requests to fail once each: the first whose `METHOD api/path?query body` matches a
   * pattern fails, and the pattern is dropped. The failure is a 403, as while a new service
   * account's grants propagate: gcloud retries a 429 or 5xx by itself, up to five times.
   */
  failures: RegExp[] = [];
  url = '';
  private server?: http.Server;
  private sequence = 0;
  /** The query of the request being routed (a create takes the new resource's id from it). */
  private lastQuery: Record<string, string> | undefined;

  /** Each project the fake knows: its number and creation time. */
  constructor(private readonly projects: Record<string, { number: string; createTime?: string }>) {
    for (const [id, project] of Object.entries(projects)) {
      this.resources.set(`projects/${id}`, {
        projectId: id,
        projectNumber: project.number,
        name: id,
        lifecycleState: 'ACTIVE',
        createTime: project.createTime ?? '2024-03-01T10:00:00.000Z',
      });
      this.policies.set(`projects/${id}`, {
        version: 1,
        etag: 'BwYAAAAAAAA=',
        bindings: [{ role: 'roles/owner', members: ['user:deployer@example.com'] }],
      });
      this.services.set(id, new Set());
    }
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The environment that points the real gcloud at this fake, API by API. */
  gcloudEnv(): Record<string, string> {
    return Object.fromEntries(
      GCLOUD_APIS.map((api) => [`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`, `${this.url}/${api}/`]),
    );
  }

  policy(resource: string): Policy | undefined {
    return this.policies.get(resource);
  }

  resource(name: string): Resource | undefined {
    return this.resources.get(name);
  }

  /** Resources whose full name matches, e.g. /^projects\/p\/topics\//. */
  list(pattern: RegExp): [string, Resource][] {
    return [...this.resources].filter(([name]) => pattern.test(name));
  }

  private handle(req: http.IncomingMessage, raw: Buffer, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const segments = decodeURIComponent(url.pathname).split('/').filter(Boolean);
    const bigquery = segments[0] === 'bigquery' || segments[0] === '$discovery';
    const api = bigquery ? 'bigquery' : (segments[0] ?? '');
    const rest = bigquery ? segments.join('/') : segments.slice(1).join('/');
    const isUpload = api === 'upload';
    const body = isUpload ? `<${raw.length} bytes>` : raw.toString('utf8');
    const request: AdminRequest = { method, api, path: rest, query: Object.fromEntries(url.searchParams), body };
    this.requests.push(request);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    try {
      const matched = `${method} ${api}/${rest}?${url.searchParams.toString()} ${body}`;
      const injected = isMutating(request) ? this.failures.findIndex((pattern) => pattern.test(matched)) : -1;
      if (injected >= 0) {
        this.failures.splice(injected, 1);
        throw new HttpError(403, 'PERMISSION_DENIED', 'Permission denied (injected by the test).');
      }
      const json = !isUpload && body ? (JSON.parse(body) as Resource) : {};
      this.lastQuery = request.query;
      send(200, this.route(api, method, rest, json, raw));
    } catch (error) {
      const failure = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL', String(error));
      const errors = [
        {
          reason: failure.status === 404 ? 'notFound' : failure.status === 409 ? 'duplicate' : 'backendError',
          message: failure.message,
        },
      ];
      send(failure.status, {
        error: {
          code: failure.status,
          message: failure.message,
          status: failure.code,
          ...(api === 'bigquery' ? { errors } : {}),
        },
      });
    }
  }

  private route(api: string, method: string, rest: string, body: Resource, raw: Buffer): unknown {
    const iam =
      /^v\d\w*\/(.+):(getIamPolicy|setIamPolicy)$/.exec(rest) ??
      /^bigquery\/v2\/(.+):(getIamPolicy|setIamPolicy)$/.exec(rest);
    if (iam) return this.iam(iam[1] as string, iam[2] as string, body);
    switch (api) {
      case 'serviceusage':
        return this.serviceUsage(method, rest, body);
      case 'cloudresourcemanager':
        return this.get(rest.replace(/^v\d\//, ''));
      case 'iam':
        return this.iamAccounts(method, rest, body);
      case 'pubsub':
        return this.pubsub(method, rest.replace(/^v1\//, ''), body);
      case 'cloudfunctions':
        return this.functions(method, rest.replace(/^v2\//, ''), body);
      case 'eventarc':
        return this.crud(method, rest.replace(/^v1\//, ''), body, 'triggerId', (trigger, name) =>
          this.eventarcTrigger(trigger, name),
        );
      case 'run':
        return this.get(rest.replace(/^v\d\//, ''));
      case 'cloudscheduler':
        return this.crud(method, rest.replace(/^v1\//, ''), body, 'jobId', (job, name) => ({
          ...job,
          name,
          state: 'ENABLED',
        }));
      case 'secretmanager':
        return this.secrets(method, rest.replace(/^v1\//, ''), body);
      case 'bigquery':
        return this.bigquery(method, rest, body);
      case 'upload':
        this.uploads.set(rest, raw);
        return {};
      default:
        throw new HttpError(404, 'NOT_FOUND', `the fake does not serve the API '${api}' (${method} ${rest})`);
    }
  }

  // --- generic resources --------------------------------------------------------------------------

  private get(name: string): Resource {
    const found = this.resources.get(name);
    if (!found) throw notFound(name);
    return found;
  }

  private create(name: string, resource: Resource): Resource {
    if (this.resources.has(name)) throw exists(name);
    this.resources.set(name, resource);
    return resource;
  }

  private patch(name: string, fields: Resource): Resource {
    const merged = { ...this.get(name), ...fields, name };
    this.resources.set(name, merged);
    return merged;
  }

  /** A collection whose create is `POST parent/collection?idParam=ID` and whose update is PATCH. */
  private crud(
    method: string,
    rest: string,
    body: Resource,
    idParam: string,
    shape = (resource: Resource, name: string): Resource => ({ ...resource, name }),
  ): unknown {
    if (rest.includes('/operations/')) return this.get(rest);
    if (method === 'GET') {
      if (/\/(triggers|jobs)$/.test(rest))
        return {
          [rest.endsWith('jobs') ? 'jobs' : 'triggers']: this.list(new RegExp(`^${rest}/[^/]+$`)).map(([, r]) => r),
        };
      return this.get(rest);
    }
    if (method === 'POST') {
      const id =
        this.lastQuery?.[idParam] ??
        String(body.name ?? '')
          .split('/')
          .pop();
      const name = `${rest}/${id}`;
      const created = this.create(name, shape(body, name));
      return rest.includes('/triggers') ? this.operation(rest.replace(/\/triggers$/, ''), created) : created;
    }
    if (method === 'PATCH') {
      const updated = this.patch(rest, body);
      return rest.includes('/triggers/') ? this.operation(rest.replace(/\/triggers\/[^/]+$/, ''), updated) : updated;
    }
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  /** A long-running operation, already done, with the stages gcloud functions tracks. */
  private operation(location: string, response: Resource, stages: string[] = []): Resource {
    const name = `${location}/operations/operation-${++this.sequence}`;
    const operation = {
      name,
      done: true,
      metadata: {
        '@type': 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata',
        target: response.name,
        stages: stages.map((stage) => ({ name: stage, state: 'COMPLETE' })),
      },
      response: { '@type': 'type.googleapis.com/google.cloud.functions.v2.Function', ...response },
    };
    this.resources.set(name, operation);
    return operation;
  }

  // --- IAM policies -------------------------------------------------------------------------------

  private iam(resource: string, verb: string, body: Resource): Policy {
    const name = resource.replace(/^bigquery\/v2\//, '');
    if (!this.resources.has(name) && !name.includes('/serviceAccounts/')) throw notFound(name);
    const current = this.policies.get(name) ?? { version: 1, etag: 'ACAB', bindings: [] };
    if (verb === 'getIamPolicy') return current;
    const next = (body.policy ?? {}) as Partial<Policy>;
    if (next.etag !== undefined && next.etag !== current.etag) {
      throw new HttpError(
        409,
        'ABORTED',
        'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
      );
    }
    const stored = {
      version: next.version ?? 1,
      etag: Buffer.from(`etag-${++this.sequence}`).toString('base64'),
      bindings: next.bindings ?? [],
    };
    this.policies.set(name, stored);
    return stored;
  }

  // --- Service Usage, IAM accounts ----------------------------------------------------------------

  private serviceUsage(method: string, rest: string, body: Resource): unknown {
    const batch = /^v1\/projects\/([^/]+)\/services:batchEnable$/.exec(rest);
    const project = /^v1\/projects\/([^/]+)\/services$/.exec(rest)?.[1] ?? batch?.[1] ?? '';
    const enabled = this.services.get(project);
    if (!enabled) throw notFound(`projects/${project}`);
    if (batch && method === 'POST') {
      for (const service of (body.serviceIds ?? []) as string[]) this.enable(project, service);
      const name = `operations/batch-enable-${++this.sequence}`;
      const operation = {
        name,
        done: true,
        response: {
          '@type': 'type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse',
          services: [],
        },
      };
      this.resources.set(name, operation);
      return operation;
    }
    if (method === 'GET' && rest.startsWith('v1/operations/')) return this.get(rest.replace(/^v1\//, ''));
    if (method === 'GET') {
      const number = this.get(`projects/${project}`).projectNumber as string;
      return {
        services: [...enabled].map((service) => ({
          name: `projects/${number}/services/${service}`,
          config: { name: service },
          state: 'ENABLED',
          parent: `projects/${number}`,
        })),
      };
    }
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  /** Enabling Pub/Sub creates its service agent with its role, as Google does for every project since 2021. */
  private enable(project: string, service: string): void {
    this.services.get(project)?.add(service);
    if (service !== 'pubsub.googleapis.com') return;
    const number = this.get(`projects/${project}`).projectNumber as string;
    const policy = this.policies.get(`projects/${project}`) as Policy;
    policy.bindings.push({
      role: 'roles/pubsub.serviceAgent',
      members: [`serviceAccount:service-${number}@gcp-sa-pubsub.iam.gserviceaccount.com`],
    });
    policy.etag = Buffer.from(`etag-${++this.sequence}`).toString('base64');
  }

  private iamAccounts(method: string, rest: string, body: Resource): unknown {
    const collection = /^v1\/projects\/([^/]+)\/serviceAccounts$/.exec(rest);
    if (collection && method === 'POST') {
      const project = collection[1] as string;
      const email = `${String(body.accountId)}@${project}.iam.gserviceaccount.com`;
      const account = {
        name: `projects/${project}/serviceAccounts/${email}`,
        projectId: project,
        email,
        ...(body.serviceAccount as Resource),
      };
      return this.create(account.name, account);
    }
    if (collection)
      return { accounts: this.list(new RegExp(`^projects/${collection[1]}/serviceAccounts/`)).map(([, r]) => r) };
    const single = /^v1\/projects\/([^/]+)\/serviceAccounts\/([^/]+)$/.exec(rest);
    if (single && method === 'GET') {
      const found = this.list(/\/serviceAccounts\//).find(([name]) => name.endsWith(`/${single[2]}`));
      if (!found) throw notFound(rest);
      return found[1];
    }
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  // --- Pub/Sub ------------------------------------------------------------------------------------

  private pubsub(method: string, rest: string, body: Resource): unknown {
    const list = /^projects\/([^/]+)\/(topics|subscriptions)$/.exec(rest);
    if (list)
      return { [list[2] as string]: this.list(new RegExp(`^projects/${list[1]}/${list[2]}/[^/]+$`)).map(([, r]) => r) };
    if (method === 'GET') return this.get(rest);
    if (method === 'PUT' && /\/topics\/[^/]+$/.test(rest)) return this.create(rest, { ...body, name: rest });
    if (method === 'PUT' && /\/subscriptions\/[^/]+$/.test(rest)) {
      this.get(String(body.topic));
      return this.create(rest, { ackDeadlineSeconds: 10, ...body, name: rest });
    }
    if (method === 'PATCH' && /\/subscriptions\/[^/]+$/.test(rest)) {
      const update = body as { subscription: Resource; updateMask: string };
      if (update.subscription.deadLetterPolicy)
        this.get(String((update.subscription.deadLetterPolicy as Resource).deadLetterTopic));
      const fields = Object.fromEntries(
        update.updateMask
          .split(',')
          .map((field) => [field.split('.')[0] as string, update.subscription[field.split('.')[0] as string]]),
      );
      return this.patch(rest, fields);
    }
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  // --- Cloud Functions (2nd gen), with what Google builds around a function ------------------------

  private functions(method: string, rest: string, body: Resource): unknown {
    if (method === 'GET' && /\/runtimes$/.test(rest)) {
      return {
        runtimes: ['nodejs20', 'nodejs22'].map((name) => ({
          name,
          displayName: name,
          stage: 'GA',
          environment: 'GEN_2',
        })),
      };
    }
    if (method === 'GET' && rest.includes('/operations/')) return this.get(rest);
    if (method === 'GET') return this.get(rest);
    const location = /^(projects\/[^/]+\/locations\/[^/]+)\/functions/.exec(rest)?.[1] ?? '';
    if (method === 'POST' && rest.endsWith('functions:generateUploadUrl')) {
      const id = randomUUID();
      return {
        uploadUrl: `${this.url}/upload/${id}`,
        storageSource: { bucket: `gcf-v2-uploads-${location.split('/')[1]}`, object: `${id}.zip` },
      };
    }
    if (method === 'POST' && rest.endsWith('/functions')) {
      const name = `${rest}/${this.lastQuery?.functionId ?? ''}`;
      if (this.resources.has(name)) throw exists(name);
      return this.operation(location, this.deployFunction(name, body), ['BUILD', 'SERVICE', 'TRIGGER']);
    }
    if (method === 'PATCH') {
      const existing = this.get(rest);
      const mask = (this.lastQuery?.updateMask ?? '').split(',').filter(Boolean);
      const merged = structuredClone(existing);
      for (const field of mask) setPath(merged, field, getPath(body, field));
      return this.operation(location, this.deployFunction(rest, merged), ['BUILD', 'SERVICE', 'TRIGGER']);
    }
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  /** Stores a function and, as Google does, its Cloud Run service, Eventarc trigger and push subscription. */
  private deployFunction(name: string, body: Resource): Resource {
    const [, project, , region, , id] = name.split('/') as string[];
    const service = `projects/${project}/locations/${region}/services/${id}`;
    const event = (body.eventTrigger ?? {}) as Resource;
    const previous = this.resources.get(name)?.eventTrigger as Resource | undefined;
    const trigger =
      (previous?.trigger as string | undefined) ??
      `projects/${project}/locations/${region}/triggers/${id}-${this.sequence++}`;
    const subscription = `projects/${project}/subscriptions/eventarc-${region}-${trigger.split('/').pop()}-sub-${100 + this.sequence}`;
    const uri = `https://${id}-${createHash('md5').update(name).digest('hex').slice(0, 10)}-ew.a.run.app`;
    const stored: Resource = {
      ...body,
      name,
      state: 'ACTIVE',
      environment: 'GEN_2',
      url: uri,
      eventTrigger: { ...event, trigger },
      serviceConfig: { ...(body.serviceConfig as Resource), service, uri },
      updateTime: new Date().toISOString(),
    };
    this.resources.set(name, stored);
    if (!this.resources.has(service)) this.resources.set(service, { name: service, uri });
    const topic = String(event.pubsubTopic);
    this.get(topic);
    if (!previous) {
      const pushSubscription = subscription;
      this.resources.set(pushSubscription, {
        name: pushSubscription,
        topic,
        ackDeadlineSeconds: 600,
        pushConfig: { pushEndpoint: uri, oidcToken: { serviceAccountEmail: event.serviceAccountEmail, audience: uri } },
      });
      this.resources.set(trigger, {
        name: trigger,
        eventFilters: [{ attribute: 'type', value: 'google.cloud.pubsub.topic.v1.messagePublished' }],
        serviceAccount: event.serviceAccountEmail,
        destination: { cloudRun: { service: id, region } },
        transport: { pubsub: { topic, subscription: pushSubscription } },
      });
    }
    return stored;
  }

  /** An Eventarc Pub/Sub trigger, with the push subscription Google creates for it on its topic. */
  private eventarcTrigger(trigger: Resource, name: string): Resource {
    const [, project, , region] = name.split('/') as string[];
    const transport = (trigger.transport ?? {}) as { pubsub?: { topic?: string } };
    const topic = String(transport.pubsub?.topic);
    this.get(topic);
    const subscription = `projects/${project}/subscriptions/eventarc-${region}-${name.split('/').pop()}-sub-${100 + ++this.sequence}`;
    const run = ((trigger.destination ?? {}) as { cloudRun?: { service?: string } }).cloudRun?.service;
    const uri =
      (this.resources.get(`projects/${project}/locations/${region}/services/${run}`)?.uri as string | undefined) ??
      'https://unknown.a.run.app';
    this.resources.set(subscription, {
      name: subscription,
      topic,
      ackDeadlineSeconds: 10,
      pushConfig: { pushEndpoint: uri, oidcToken: { serviceAccountEmail: trigger.serviceAccount, audience: uri } },
    });
    return { ...trigger, name, transport: { pubsub: { topic, subscription } } };
  }

  // --- Secret Manager -----------------------------------------------------------------------------

  private secrets(method: string, rest: string, body: Resource): unknown {
    if (method === 'POST' && /^projects\/[^/]+\/secrets$/.test(rest)) {
      const name = `${rest}/${this.lastQuery?.secretId ?? ''}`;
      return this.create(name, { ...body, name, createTime: new Date().toISOString() });
    }
    const add = /^(projects\/[^/]+\/secrets\/[^/]+):addVersion$/.exec(rest);
    if (add && method === 'POST') {
      const secret = add[1] as string;
      this.get(secret);
      const number = this.list(new RegExp(`^${secret}/versions/`)).length + 1;
      const version = { name: `${secret}/versions/${number}`, state: 'ENABLED', payload: body.payload };
      this.resources.set(version.name, version);
      // gcloud refuses a version whose checksum the service did not confirm.
      return {
        name: version.name,
        state: 'ENABLED',
        clientSpecifiedPayloadChecksum: Boolean((body.payload as Resource | undefined)?.dataCrc32c),
      };
    }
    const access = /^(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/.exec(rest);
    if (access && method === 'GET') {
      const versions = this.list(new RegExp(`^${access[1]}/versions/\\d+$`));
      const found =
        access[2] === 'latest' ? versions.at(-1) : versions.find(([name]) => name.endsWith(`/${access[2]}`));
      if (!found) throw notFound(rest);
      return { name: found[0], payload: found[1].payload };
    }
    if (method === 'GET' && /^projects\/[^/]+\/secrets$/.test(rest))
      return { secrets: this.list(new RegExp(`^${rest}/[^/]+$`)).map(([, r]) => r) };
    if (method === 'GET') return this.get(rest);
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  // --- BigQuery -----------------------------------------------------------------------------------

  private bigquery(method: string, rest: string, body: Resource): unknown {
    if (rest === '$discovery/rest') return this.discovery();
    const name = rest.replace(/^bigquery\/v2\//, '');
    const datasets = /^projects\/([^/]+)\/datasets$/.exec(name);
    if (datasets && method === 'POST') {
      const reference = body.datasetReference as { projectId: string; datasetId: string };
      const full = `${name}/${reference.datasetId}`;
      return this.create(full, {
        ...body,
        id: `${reference.projectId}:${reference.datasetId}`,
        kind: 'bigquery#dataset',
        location: body.location ?? 'US',
      });
    }
    const tables = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(name);
    if (tables && method === 'POST') {
      this.get(name.replace(/\/tables$/, ''));
      const reference = body.tableReference as { projectId: string; datasetId: string; tableId: string };
      return this.create(`${name}/${reference.tableId}`, {
        ...body,
        id: `${reference.projectId}:${reference.datasetId}.${reference.tableId}`,
        kind: 'bigquery#table',
        type: 'TABLE',
      });
    }
    if (datasets && method === 'GET')
      return { kind: 'bigquery#datasetList', datasets: this.list(new RegExp(`^${name}/[^/]+$`)).map(([, r]) => r) };
    if (tables && method === 'GET')
      return {
        kind: 'bigquery#tableList',
        tables: this.list(new RegExp(`^${name}/[^/]+$`)).map(([, r]) => r),
        totalItems: 0,
      };
    if (method === 'GET') return this.get(name);
    throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${rest}`);
  }

  /** The SDK's own discovery document, its root pointed here (bq reads it before any call). */
  private discovery(): unknown {
    const document = JSON.parse(
      readFileSync(path.join(sdkRoot(), 'platform/bq/discovery_next/bigquery.json'), 'utf8'),
    ) as Resource;
    return { ...document, rootUrl: `${this.url}/`, baseUrl: `${this.url}/bigquery/v2/` };
  }
}

let cachedSdkRoot: string | undefined;
/** The Cloud SDK's folder (`gcloud info --format='value(installation.sdk_root)'`), from gcloud's own path. */
function sdkRoot(): string {
  if (cachedSdkRoot) return cachedSdkRoot;
  const candidates = [process.env.CLOUDSDK_ROOT_DIR, '/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk'].filter(
    Boolean,
  ) as string[];
  cachedSdkRoot = candidates.find((dir) => {
    try {
      readFileSync(path.join(dir, 'platform/bq/discovery_next/bigquery.json'));
      return true;
    } catch {
      return false;
    }
  });
  if (!cachedSdkRoot) throw new Error('Cloud SDK not found: install google-cloud-cli');
  return cachedSdkRoot;
}

function getPath(object: Resource, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Resource)[key] : undefined),
      object,
    );
}

function setPath(object: Resource, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let target = object;
  for (const key of keys.slice(0, -1)) {
    if (!target[key] || typeof target[key] !== 'object') target[key] = {};
    target = target[key] as Resource;
  }
  target[keys.at(-1) as string] = value;
}
