/**
 * Decoding a Pub/Sub message delivered as a CloudEvent (google.cloud.pubsub.topic.v1.messagePublished):
 * `data.message.data` is base64 JSON, with `attributes`, `messageId` and `publishTime`.
 */
import { InvalidMessageError } from '../errors';

export interface PubSubMessage {
  /** The Pub/Sub message id: the same on every redelivery of the message. */
  messageId: string;
  publishTime: Date;
  attributes: Record<string, string>;
  /** The message data, parsed as JSON. */
  data: unknown;
  /** The topic, from the event's source, when it says. */
  topic: string | null;
}

/** The parts of a CloudEvent this module reads; the functions-framework's CloudEvent fits it. */
export interface PubSubCloudEvent {
  id?: string;
  source?: string;
  time?: string;
  data?: unknown;
}

/** The fields as they arrive: JSON of any type, checked here before anything uses them. */
interface MessagePublishedData {
  message?: {
    data?: unknown;
    attributes?: unknown;
    messageId?: unknown;
    message_id?: unknown;
    publishTime?: unknown;
    publish_time?: unknown;
  };
}

/** A message id becomes the run id and the redelivery key: a bounded string, or the message is refused. */
export const MAX_MESSAGE_ID_LENGTH = 256;

/** `now` stands in for a publish time the event does not carry (a hand-made curl may leave it out). */
export function decodePubSubEvent(event: PubSubCloudEvent, now: Date = new Date()): PubSubMessage {
  const message = (event.data as MessagePublishedData | undefined)?.message;
  if (!message || typeof message !== 'object')
    throw new InvalidMessageError('not a Pub/Sub message: the CloudEvent has no data.message');
  const messageId = messageIdOf(message, event);
  return {
    messageId,
    publishTime: publishTimeOf(message, event, now, messageId),
    // In this order, as before: a message wrong in several ways names the same first fault.
    data: dataOf(message.data, messageId),
    topic: /topics\/([^/]+)$/.exec(event.source ?? '')?.[1] ?? null,
    attributes: attributesOf(message.attributes, messageId),
  };
}

type RawMessage = NonNullable<MessagePublishedData['message']>;

/** publishTime (or publish_time, or the ce-time header), else `now`: a valid date string. */
function publishTimeOf(message: RawMessage, event: PubSubCloudEvent, now: Date, messageId: string): Date {
  const published = firstGiven(message.publishTime, message.publish_time, event.time);
  if (published !== undefined && typeof published !== 'string')
    throw new InvalidMessageError(`message ${messageId}: publishTime must be a string, got ${typeof published}`);
  const publishTime = published ? new Date(published) : now;
  if (Number.isNaN(publishTime.getTime()))
    throw new InvalidMessageError(`message ${messageId}: no valid publishTime (${JSON.stringify(published)})`);
  return publishTime;
}

/** The data: base64 of JSON (none reads as an empty string, which is not JSON either). */
function dataOf(data: unknown, messageId: string): unknown {
  if (data !== undefined && typeof data !== 'string')
    throw new InvalidMessageError(`message ${messageId}: data must be a base64 string`);
  const text = Buffer.from(data ?? '', 'base64').toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidMessageError(`message ${messageId}: data is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

/** The first field the message gives (null counts as given: a wrong type is refused, not skipped). */
function firstGiven(...values: unknown[]): unknown {
  return values.find((value) => value !== undefined);
}

/**
 * messageId (or message_id, or the ce-id header): a non-empty string of bounded length. An object
 * would become run id `etl-[object Object]`, the same for every such message, so a second trigger
 * would pass for a redelivery of the first.
 */
function messageIdOf(message: RawMessage, event: PubSubCloudEvent): string {
  const id = firstGiven(message.messageId, message.message_id, event.id);
  if (id === undefined)
    throw new InvalidMessageError('not a Pub/Sub message: no message.messageId and no ce-id header');
  if (typeof id !== 'string' || id === '' || id.length > MAX_MESSAGE_ID_LENGTH) {
    const got = typeof id === 'string' ? `${id.length} characters` : id === null ? 'null' : typeof id;
    throw new InvalidMessageError(
      `not a Pub/Sub message: message.messageId must be a non-empty string of at most ${MAX_MESSAGE_ID_LENGTH} characters, got ${got}`,
    );
  }
  return id;
}

/** Attributes are string values by name. */
function attributesOf(attributes: unknown, messageId: string): Record<string, string> {
  if (attributes === undefined || attributes === null) return {};
  const entries = typeof attributes === 'object' && !Array.isArray(attributes) ? Object.entries(attributes) : null;
  if (entries === null || entries.some(([, value]) => typeof value !== 'string')) {
    throw new InvalidMessageError(`message ${messageId}: attributes must be an object of string values`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
