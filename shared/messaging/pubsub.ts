/**
 * The Pub/Sub adapter of the publisher port. The client comes from the caller (the factory, or a
 * test pointing it at a local fake); it honours PUBSUB_EMULATOR_HOST on its own.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { PublishError } from '../errors';
import type { Attributes, Publisher } from './publisher';

export class PubSubPublisher implements Publisher {
  /** Topic objects hold the client's batching queue: one per topic for the life of the instance. */
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly client: PubSub) {}

  publish(topic: string, data: unknown, attributes: Attributes = {}): Promise<string> {
    return this.publishRaw(topic, Buffer.from(JSON.stringify(data)), attributes);
  }

  async publishRaw(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
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

  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((topic) => topic.flush()));
    await this.client.close();
  }
}
