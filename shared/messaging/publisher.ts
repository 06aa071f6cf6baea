/**
 * The publisher port, and its local adapter: each message is appended as one JSON line to
 * `<dir>/<topic>.jsonl`, which is what a local run leaves for a person or a test to read.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { KpisError, toError, UsageError } from '../errors';

/** The topics of DESIGN.md; names are fixed so deploy.sh, the functions and the router agree. */
export const TOPICS = {
  trigger: 'daily-kpis-trigger',
  completed: 'daily-kpis-completed',
  heartbeat: 'daily-kpis-heartbeat',
  alerts: 'daily-kpis-alerts',
} as const;

export type Attributes = Record<string, string>;

/**
 * Pub/Sub's topic-name rule: a letter, then 2 to 254 letters, digits or `-_.~+%`, not starting
 * with `goog`. No slash can pass, so a topic name is also a safe file name.
 */
const TOPIC_NAME = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export function isTopicName(name: string): boolean {
  return TOPIC_NAME.test(name);
}

export interface Publisher {
  /** Publishes one JSON message and resolves once the broker has accepted it, with its id. */
  publish(topic: string, data: unknown, attributes?: Attributes): Promise<string>;
  /** Publishes bytes as they are (`kpis publish`, like gcloud, sends any text). */
  publishRaw(topic: string, data: Buffer, attributes?: Attributes): Promise<string>;
  close(): Promise<void>;
}

/** Message data as a topic file shows it: the JSON value, or the text when it is not JSON. */
export function readableData(data: Buffer): unknown {
  const text = data.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One line of a local topic file: the message as a subscriber would receive it. */
export interface TopicRecord {
  message_id: string;
  publish_time: string;
  topic: string;
  data: unknown;
  attributes: Attributes;
}

export const DEFAULT_TOPICS_DIR = '.data/topics';

export class LocalTopicPublisher implements Publisher {
  constructor(
    readonly dir: string = DEFAULT_TOPICS_DIR,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends the message and returns the record, for callers that deliver it further (the local router). */
  append(topic: string, data: unknown, attributes: Attributes = {}): TopicRecord {
    if (!isTopicName(topic))
      throw new UsageError(
        `${JSON.stringify(topic)} is not a Pub/Sub topic name (a letter, then 2 to 254 letters, digits or -_.~+%)`,
      );
    const record: TopicRecord = {
      message_id: randomUUID(),
      publish_time: this.clock().toISOString(),
      topic,
      data,
      attributes,
    };
    const file = path.join(this.dir, `${topic}.jsonl`);
    try {
      mkdirSync(this.dir, { recursive: true });
      // One write per line: appends from concurrent publishers never interleave within a line.
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch (error) {
      // A folder that is a file, or one that cannot be written, fails the same way every time: not a publish to retry.
      throw new KpisError(
        `cannot write the local topic file ${file} (folder $KPIS_TOPICS_DIR, default ${DEFAULT_TOPICS_DIR}): ${fileProblem(error)}`,
        { cause: error },
      );
    }
    return record;
  }

  async publish(topic: string, data: unknown, attributes: Attributes = {}): Promise<string> {
    return this.append(topic, data, attributes).message_id;
  }

  async publishRaw(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
    return this.append(topic, readableData(data), attributes).message_id;
  }

  async close(): Promise<void> {}
}

/** Why a file could not be written, in words, with the error's code. */
function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const why = new Map([
    ['EEXIST', 'a part of its path is a file'],
    ['ENOTDIR', 'a part of its path is a file'],
    ['EISDIR', 'it is a directory'],
    ['EACCES', 'permission denied'],
    ['EROFS', 'the file system is read-only'],
    ['ENOSPC', 'no space left on the device'],
  ]).get(code);
  return why ? `${why} (${code})` : toError(error).message;
}
