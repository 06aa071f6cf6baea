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

interface MessagePublishedData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string; message_id?: string; publishTime?: string; publish_time?: string };
}

/** `now` stands in for a publish time the event does not carry (a hand-made curl may leave it out). */
export function decodePubSubEvent(event: PubSubCloudEvent, now: Date = new Date()): PubSubMessage {
  const message = (event.data as MessagePublishedData | undefined)?.message;
  if (!message || typeof message !== 'object') throw new InvalidMessageError('not a Pub/Sub message: the CloudEvent has no data.message');
  const messageId = message.messageId ?? message.message_id ?? event.id;
  if (!messageId) throw new InvalidMessageError('not a Pub/Sub message: no message.messageId and no ce-id header');
  const published = message.publishTime ?? message.publish_time ?? event.time;
  const publishTime = published ? new Date(published) : now;
  if (Number.isNaN(publishTime.getTime())) throw new InvalidMessageError(`message ${messageId}: no valid publishTime (${JSON.stringify(published)})`);
  const text = Buffer.from(message.data ?? '', 'base64').toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InvalidMessageError(`message ${messageId}: data is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const topic = /topics\/([^/]+)$/.exec(event.source ?? '')?.[1] ?? null;
  return { messageId, publishTime, attributes: message.attributes ?? {}, data, topic };
}
