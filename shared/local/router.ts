/**
 * The local push router: Pub/Sub for one machine. Every message published to it is appended to
 * `.data/topics/<topic>.jsonl` and POSTed to each function server subscribed to its topic, the
 * way Google's Pub/Sub emulator pushes (checked against it in test/functions/pubsub-emulator.test.ts):
 * the wrapped push body `{"subscription", "message": {"data", "attributes", "messageId",
 * "message_id", "publishTime", "publish_time"}}` as application/json, no CloudEvent headers, to an
 * endpoint ending in `/projects/P/topics/T` (the functions-framework takes the topic from the path
 * when it turns the push body into a CloudEvent). Like a push subscription it delivers again when
 * the answer is not an acknowledgement, with backoff, and after the last attempt moves the message
 * to the dead-letter topic file with the attributes Pub/Sub adds.
 *
 * It serves the publish call of Pub/Sub's REST API, `POST /v1/projects/P/topics/T:publish` with
 * `{"messages": [{"data": "<base64>", "attributes": {...}}]}`, so curl, `kpis publish` and the
 * functions themselves publish to it the same way.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toError } from '../errors';
import type { Logger } from '../log';
import {
  isTopicName,
  LocalTopicPublisher,
  readableData,
  TOPICS,
  type Attributes,
  type Publisher,
  type TopicRecord,
} from '../messaging/publisher';
import { LOCAL_PROJECT } from '../messaging/router-publisher';

export interface Subscription {
  name: string;
  topic: string;
  /** The push endpoint: a function server's URL with the topic's path (pushEndpoint). */
  endpoint: string;
}

export interface RouterOptions {
  topicsDir: string;
  clock: () => Date;
  logger: Logger;
  subscriptions: Subscription[];
  /** Deliveries per message and subscription before it goes to the dead-letter file (Pub/Sub's default is 5). */
  maxAttempts?: number;
  /** The first retry's wait (default 1 s); it doubles with each attempt, up to 10 s: the retry policy of the emulator stack's subscriptions. */
  retryDelayMs?: number;
  /** The topics its publish call accepts, besides the subscriptions' (default LOCAL_TOPICS); any other is NOT_FOUND. */
  topics?: readonly string[];
}

export const DEAD_LETTER_TOPIC = 'daily-kpis-dead-letter';

/** The topics deploy.sh creates, which the router knows: a publish to any other is NOT_FOUND, as on Pub/Sub. */
export const LOCAL_TOPICS: readonly string[] = [...Object.values(TOPICS), DEAD_LETTER_TOPIC];

/**
 * Where a subscription pushes: the function server, at `/projects/P/topics/T`. The
 * functions-framework reads the topic of a raw push body from that path (its documented push
 * endpoint form); without it the CloudEvent it builds has no topic in its source.
 */
export function pushEndpoint(serverUrl: string, project: string, topic: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/projects/${project}/topics/${topic}`;
}

/** Which function listens to which topic: the local twin of deploy.sh's triggers. */
export function localSubscriptions(
  urls: { etl: string; 'kpi-monitor': string; 'log-monitor': string },
  project: string,
): Subscription[] {
  const push = (name: string, topic: string, url: string) => ({
    name,
    topic,
    endpoint: pushEndpoint(url, project, topic),
  });
  return [
    push('etl', TOPICS.trigger, urls.etl),
    push('kpi-monitor', TOPICS.completed, urls['kpi-monitor']),
    push('log-monitor-completed', TOPICS.completed, urls['log-monitor']),
    push('log-monitor-heartbeat', TOPICS.heartbeat, urls['log-monitor']),
  ];
}

/** The answers Pub/Sub takes as an acknowledgement of a push; any other status is delivered again. */
export const PUSH_ACK_STATUSES: ReadonlySet<number> = new Set([102, 200, 201, 202, 204]);

/** The push request body, as Pub/Sub and its emulator wrap a message (both spellings of the ids). */
export function pushBody(record: TopicRecord, data: Buffer, subscription: string): string {
  return JSON.stringify({
    subscription,
    message: {
      data: data.toString('base64'),
      attributes: record.attributes,
      messageId: record.message_id,
      message_id: record.message_id,
      publishTime: record.publish_time,
      publish_time: record.publish_time,
    },
  });
}

export class LocalRouter implements Publisher {
  /** Every message published since the router started, in order. */
  readonly published: TopicRecord[] = [];
  /** Messages whose delivery to a subscription failed on every attempt. */
  readonly deadLettered: TopicRecord[] = [];
  private readonly files: LocalTopicPublisher;
  private readonly pending = new Set<Promise<void>>();
  private server?: Server;
  private readonly topics: ReadonlySet<string>;

  constructor(private readonly options: RouterOptions) {
    this.files = new LocalTopicPublisher(options.topicsDir, options.clock);
    this.topics = new Set([
      ...(options.topics ?? LOCAL_TOPICS),
      ...options.subscriptions.map((subscription) => subscription.topic),
    ]);
  }

  publish(topic: string, data: unknown, attributes: Attributes = {}): Promise<string> {
    return this.publishRaw(topic, Buffer.from(JSON.stringify(data)), attributes);
  }

  async publishRaw(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
    const record = this.files.append(topic, readableData(data), attributes);
    this.published.push(record);
    for (const subscription of this.options.subscriptions.filter((s) => s.topic === topic)) {
      const delivery = this.deliver(subscription, record, data).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
    return record.message_id;
  }

  /** Resolves once every delivery, and every delivery those caused, has finished. */
  async idle(timeoutMs = 10 * 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      if (Date.now() > deadline)
        throw new Error(`the local router still has ${this.pending.size} deliveries running after ${timeoutMs} ms`);
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
  }

  private async deliver(subscription: Subscription, record: TopicRecord, data: Buffer): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const logger = this.options.logger.child({ subscription: subscription.name, message_id: record.message_id });
    let lastProblem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const response = await this.push(subscription, record, data);
      if (typeof response === 'number') {
        logger.debug('delivered', { attempt, status: response });
        return;
      }
      lastProblem = response.problem;
      if (attempt < maxAttempts) {
        logger.info('delivery failed; retrying', { attempt, problem: lastProblem });
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min((this.options.retryDelayMs ?? 1000) * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)),
        );
      }
    }
    logger.error('delivery failed on every attempt: message moved to the dead-letter topic', {
      attempts: maxAttempts,
      problem: lastProblem,
    });
    this.deadLetter(subscription, record, maxAttempts);
  }

  /** One push of the message to the subscription's endpoint: the acknowledging status, or what went wrong. */
  private async push(
    subscription: Subscription,
    record: TopicRecord,
    data: Buffer,
  ): Promise<number | { problem: string }> {
    try {
      const response = await fetch(subscription.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: pushBody(record, data, `projects/${LOCAL_PROJECT}/subscriptions/${subscription.name}`),
        // An unanswered push counts as failed once the ack deadline passes, and is delivered again.
        signal: AbortSignal.timeout(ACK_DEADLINE_MS),
      });
      await response.arrayBuffer();
      return PUSH_ACK_STATUSES.has(response.status) ? response.status : { problem: `HTTP ${response.status}` };
    } catch (error) {
      return { problem: toError(error).message };
    }
  }

  private deadLetter(subscription: Subscription, record: TopicRecord, attempts: number): void {
    this.deadLettered.push(record);
    // The attributes Pub/Sub (and its emulator) add to a dead-lettered message.
    this.files.append(DEAD_LETTER_TOPIC, record.data, {
      ...record.attributes,
      CloudPubSubDeadLetterSourceDeliveryCount: String(attempts),
      CloudPubSubDeadLetterSourceSubscription: subscription.name,
      CloudPubSubDeadLetterSourceSubscriptionProject: LOCAL_PROJECT,
      CloudPubSubDeadLetterSourceTopicPublishTime: record.publish_time,
    });
  }

  /** Serves the publish call on 127.0.0.1; resolves with the router's URL. */
  async listen(port: number): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => reply(response, 500, { error: toError(error).message }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /^\/v1\/projects\/[^/]+\/topics\/([^/:]+):publish$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match)
      return reply(response, 404, { error: 'only POST /v1/projects/PROJECT/topics/TOPIC:publish is served here' });
    const topic = decodeTopic(match[1] as string);
    if (topic === null)
      return reply(response, 400, {
        error: 'not a Pub/Sub topic name: a letter, then 2 to 254 letters, digits or -_.~+%',
      });
    // Pub/Sub's own answer for a topic that does not exist: a typo must not look published.
    if (!this.topics.has(topic))
      return reply(response, 404, {
        error: { code: 404, message: `Resource not found (resource=${topic}).`, status: 'NOT_FOUND' },
      });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES)
        return reply(response, 413, { error: `a publish request holds at most ${MAX_BODY_BYTES} bytes` });
      chunks.push(chunk as Buffer);
    }
    const messages = parsePublishBody(Buffer.concat(chunks).toString('utf8'));
    if (typeof messages === 'string') return reply(response, 400, { error: messages });
    const messageIds: string[] = [];
    for (const message of messages)
      messageIds.push(await this.publishRaw(topic, Buffer.from(message.data, 'base64'), message.attributes));
    return reply(response, 200, { messageIds });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The emulator stack's subscriptions have Pub/Sub's longest ack deadline, 600 s; so has the router. */
const ACK_DEADLINE_MS = 600_000;
const MAX_RETRY_DELAY_MS = 10_000;
/** Pub/Sub's own limit on one publish request. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const PUBLISH_SHAPE = 'the body must be JSON: {"messages": [{"data": "<base64>", "attributes": {"key": "value"}}]}';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Deeper JSON data is refused: the topic file holds it as JSON, and JSON.stringify recurses. */
const MAX_DATA_DEPTH = 1000;

/** How deeply arrays and objects nest in a JSON text (strings skipped); any text has a depth. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '[' || char === '{') deepest = Math.max(deepest, (depth += 1));
    else if (char === ']' || char === '}') depth -= 1;
  }
  return deepest;
}

/** The topic of a request path, or null when it is not a Pub/Sub topic name (`..%2F..%2Fx` is not). */
function decodeTopic(encoded: string): string | null {
  try {
    const topic = decodeURIComponent(encoded);
    return isTopicName(topic) ? topic : null;
  } catch {
    return null;
  }
}

/** The messages of a publish body, or what is wrong with it. */
function parsePublishBody(text: string): PublishedMessage[] | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return PUBLISH_SHAPE;
  }
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return `messages must be a non-empty array; ${PUBLISH_SHAPE}`;
  const parsed: PublishedMessage[] = [];
  for (const [index, message] of messages.entries()) {
    const one = parseMessage(message, index);
    if (typeof one === 'string') return one;
    parsed.push(one);
  }
  return parsed;
}

type PublishedMessage = { data: string; attributes: Attributes };

/** One message of a publish body, or what is wrong with it. */
function parseMessage(message: unknown, index: number): PublishedMessage | string {
  const { data = '', attributes = {} } = (message ?? {}) as { data?: unknown; attributes?: unknown };
  if (typeof message !== 'object' || message === null || Array.isArray(message))
    return `messages[${index}] must be an object`;
  if (typeof data !== 'string' || !BASE64.test(data)) return `messages[${index}].data must be base64 text`;
  if (jsonDepth(Buffer.from(data, 'base64').toString('utf8')) > MAX_DATA_DEPTH)
    return `messages[${index}].data is JSON nested more than ${MAX_DATA_DEPTH} levels deep`;
  if (!isStringMap(attributes)) return `messages[${index}].attributes must be an object of strings`;
  return { data, attributes };
}

function isStringMap(value: unknown): value is Attributes {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
