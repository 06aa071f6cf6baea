/**
 * The Pub/Sub adapter of the publisher port. The client comes from the caller (the factory, or a
 * test pointing it at a local fake); it honours PUBSUB_EMULATOR_HOST on its own.
 *
 * Credentials are loaded before the first publish (see credentialsLoaded): the client's generated
 * publish call starts its gRPC stub with `initialize().catch((e) => { throw e; })` and leaves that
 * promise floating (@google-cloud/pubsub 5.3, v1/publisher_client.js), so credentials that cannot
 * load reject it with nobody listening, and the process ends on the unhandled rejection even though
 * the publish's own rejection was caught (before a monitor gives its alerts' claims back).
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { PublishError, toError } from '../errors';
import type { Attributes, Publisher } from './publisher';

const NO_CREDENTIALS =
  'no Google credentials for Pub/Sub: run gcloud auth application-default login, or set KPIS_PUBLISHER=local';

export class PubSubPublisher implements Publisher {
  /** Topic objects hold the client's batching queue: one per topic for the life of the instance. */
  private readonly topics = new Map<string, Topic>();

  /** The credentials' loading, shared by concurrent publishes; forgotten when it fails, so a later publish tries again. */
  private credentials: Promise<void> | undefined;

  constructor(private readonly client: PubSub) {}

  publish(topic: string, data: unknown, attributes: Attributes = {}): Promise<string> {
    return this.publishRaw(topic, Buffer.from(JSON.stringify(data)), attributes);
  }

  async publishRaw(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
    await this.credentialsLoaded();
    let handle = this.topics.get(topic);
    if (!handle) {
      handle = this.client.topic(topic);
      this.topics.set(topic, handle);
    }
    try {
      // Awaited: a function must not return before the broker has the message, or it may be lost
      // when the instance is frozen.
      return await handle.publishMessage({ data, attributes });
    } catch (error) {
      throw new PublishError(`cannot publish to ${topic}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Nothing is sent, so nothing is left floating, until the credentials load; the emulator takes none. */
  private credentialsLoaded(): Promise<void> {
    if (this.client.isEmulator) return Promise.resolve();
    this.credentials ??= this.client.auth.getClient().then(
      () => undefined,
      (error: unknown) => {
        this.credentials = undefined;
        throw new PublishError(`${NO_CREDENTIALS} (${firstSentence(toError(error).message)})`, { cause: error });
      },
    );
    return this.credentials;
  }

  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((topic) => topic.flush()));
    await this.client.close();
  }
}

/** google-auth-library's messages run on with a URL or an errno: the first sentence says what failed. */
function firstSentence(message: string): string {
  return message.split(/(?<=\.)\s/)[0] ?? message;
}
