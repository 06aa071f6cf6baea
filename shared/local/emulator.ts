/**
 * Google's Pub/Sub emulator as the local broker: started through `gcloud beta emulators pubsub
 * start` on a free 127.0.0.1 port, with a gcloud config folder of its own (the user's is never
 * read or written), and stopped as a whole process group (gcloud's Python wrapper starts a shell
 * script that starts Java; killing the wrapper alone leaves Java listening).
 *
 * The topics and subscriptions are created through the emulator's REST API, the same calls as
 * `gcloud pubsub ... create`; what the emulator honours of a subscription's settings is in the
 * README (push, dead-letter, retry backoff: yes; filters, ordering, exactly-once: no).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KpisError } from '../errors';
import type { Attributes } from '../messaging/publisher';

export interface EmulatorOptions {
  /** The project every resource is created in; the emulator accepts any. */
  project: string;
  /** 0 (the default): a free port. */
  port?: number;
  /** How long to wait for it to listen; it takes 2 to 20 s here. */
  startTimeoutMs?: number;
  /** The gcloud binary (default: `gcloud` on the PATH). */
  gcloud?: string;
  /** Where its output goes; default a file in its temp folder. */
  logFile?: string;
}

export interface PubSubEmulator {
  project: string;
  /** `127.0.0.1:PORT`, the value of PUBSUB_EMULATOR_HOST. */
  host: string;
  /** Its REST API, `http://127.0.0.1:PORT`. */
  url: string;
  logFile: string;
  /** Milliseconds from spawn to the first answer. */
  startedInMs: number;
  stop(): Promise<void>;
}

/** The emulator did not start, or refused a call: one clear line for the CLI. */
export class EmulatorError extends KpisError {}

/** Starts the emulator and resolves once it answers HTTP; on any failure nothing is left running. */
export async function startPubSubEmulator(options: EmulatorOptions): Promise<PubSubEmulator> {
  const port = options.port || (await freePort());
  const home = mkdtempSync(path.join(tmpdir(), 'kpis-pubsub-emulator-'));
  const logFile = options.logFile ?? path.join(home, 'emulator.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  mkdirSync(path.join(home, 'data'), { recursive: true });
  const began = Date.now();
  const child = spawnEmulator(options, port, home, logFile);
  const group = new ProcessGroup(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilListening(url, child, options.startTimeoutMs ?? 60_000, logFile);
  } catch (error) {
    await group.stop();
    throw error;
  }
  return {
    project: options.project,
    host: `127.0.0.1:${port}`,
    url,
    logFile,
    startedInMs: Date.now() - began,
    async stop() {
      await group.stop();
      rmSync(path.join(home, 'data'), { recursive: true, force: true });
      rmSync(path.join(home, 'gcloud-config'), { recursive: true, force: true });
    },
  };
}

/** gcloud's emulator on 127.0.0.1:port, its data and gcloud config under `home`, its output appended to logFile. */
function spawnEmulator(options: EmulatorOptions, port: number, home: string, logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  const child = spawn(
    options.gcloud ?? 'gcloud',
    [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=127.0.0.1:${port}`,
      `--project=${options.project}`,
      `--data-dir=${path.join(home, 'data')}`,
    ],
    {
      // Its own process group, so stop() can signal gcloud, the script and Java at once. The child
      // inherits the whole environment (PATH, JAVA_HOME, gcloud's own variables): a pass-through,
      // not settings of ours.
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, CLOUDSDK_CONFIG: path.join(home, 'gcloud-config'), CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
    },
  );
  closeSync(log);
  return child;
}

/** A detached child and everything it starts: signalled together, and killed if this process exits first. */
class ProcessGroup {
  private readonly exited: Promise<void>;
  private readonly onExit = () => this.signal('SIGKILL');

  constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once('exit', () => resolve());
      // A binary that cannot be spawned emits 'error' and never 'exit'.
      child.once('error', () => resolve());
    });
    // A crash or process.exit() skips stop(): Java must not outlive us.
    process.once('exit', this.onExit);
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    this.signal('SIGTERM');
    const gone = await Promise.race([
      this.exited.then(() => true),
      sleep(5_000, undefined, { ref: false }).then(() => false),
    ]);
    // gcloud's wrapper may exit first and leave Java behind: the group gets a SIGKILL either way.
    this.signal('SIGKILL');
    if (!gone) await Promise.race([this.exited, sleep(5_000, undefined, { ref: false })]);
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // ESRCH: the group has already gone.
    }
  }
}

async function waitUntilListening(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  while (Date.now() < deadline) {
    if (spawnError)
      throw new EmulatorError(
        `cannot run gcloud for the Pub/Sub emulator: ${spawnError.message} (install google-cloud-cli and google-cloud-cli-pubsub-emulator)`,
      );
    if (child.exitCode !== null)
      throw new EmulatorError(
        `the Pub/Sub emulator exited with code ${child.exitCode} before listening; its log, ${logFile}:\n${tail(logFile)}`,
      );
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new EmulatorError(
    `the Pub/Sub emulator did not listen on ${url} within ${timeoutMs / 1000} s; its log, ${logFile}:\n${tail(logFile)}`,
  );
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** A port nobody listens on now; the emulator takes it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---- The REST calls of `gcloud pubsub topics/subscriptions create`, against the emulator ----

export interface PushSubscription {
  name: string;
  topic: string;
  /** The push endpoint: a function server's URL, with the topic's path (see pushEndpoint). */
  endpoint: string;
}

/** Admin and pull calls on one emulator project. */
export class EmulatorAdmin {
  constructor(
    readonly url: string,
    readonly project: string,
  ) {}

  async createTopic(topic: string): Promise<void> {
    await this.call('PUT', `topics/${topic}`, {}, [409]);
  }

  /**
   * A push subscription shaped like deploy.sh's: the dead-letter topic after `maxDeliveryAttempts`
   * and retries with backoff (1 to 10 s here, where deploy.sh sets 10 to 600 s, so a local run
   * does not wait minutes), and Pub/Sub's longest ack deadline, 600 s: a run takes longer than the
   * default 10 s, and the emulator pushes again, alongside the first, when the deadline passes.
   */
  async createPushSubscription(
    subscription: PushSubscription,
    deadLetter?: { topic: string; maxDeliveryAttempts: number },
  ): Promise<void> {
    await this.call(
      'PUT',
      `subscriptions/${subscription.name}`,
      {
        topic: this.topicPath(subscription.topic),
        pushConfig: { pushEndpoint: subscription.endpoint },
        ackDeadlineSeconds: 600,
        retryPolicy: { minimumBackoff: '1s', maximumBackoff: '10s' },
        ...(deadLetter
          ? {
              deadLetterPolicy: {
                deadLetterTopic: this.topicPath(deadLetter.topic),
                maxDeliveryAttempts: deadLetter.maxDeliveryAttempts,
              },
            }
          : {}),
      },
      [409],
    );
  }

  async createPullSubscription(name: string, topic: string): Promise<void> {
    await this.call('PUT', `subscriptions/${name}`, { topic: this.topicPath(topic), ackDeadlineSeconds: 60 }, [409]);
  }

  /** The REST publish call (what curl or `gcloud pubsub topics publish` sends); resolves with the message id. */
  async publish(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
    const body = (await this.call('POST', `topics/${topic}:publish`, {
      messages: [{ data: data.toString('base64'), attributes }],
    })) as { messageIds?: string[] };
    const [messageId] = body.messageIds ?? [];
    if (!messageId) throw new EmulatorError(`Pub/Sub emulator: the publish to ${topic} returned no message id`);
    return messageId;
  }

  /** Pulls what is there now and acknowledges it. */
  async pullAndAck(subscription: string, maxMessages = 100): Promise<ReceivedMessage[]> {
    const body = (await this.call('POST', `subscriptions/${subscription}:pull`, {
      maxMessages,
      returnImmediately: true,
    })) as { receivedMessages?: RawReceived[] };
    const received = body.receivedMessages ?? [];
    if (received.length > 0)
      await this.call('POST', `subscriptions/${subscription}:acknowledge`, { ackIds: received.map((r) => r.ackId) });
    return received.map(({ message }) => ({
      messageId: message.messageId,
      publishTime: message.publishTime,
      attributes: message.attributes ?? {},
      data: Buffer.from(message.data ?? '', 'base64'),
    }));
  }

  topicPath(topic: string): string {
    return `projects/${this.project}/topics/${topic}`;
  }

  private async call(method: string, resource: string, body: unknown, accepted: number[] = []): Promise<unknown> {
    const response = await fetch(`${this.url}/v1/projects/${this.project}/${resource}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok && !accepted.includes(response.status))
      throw new EmulatorError(
        `Pub/Sub emulator: ${method} ${resource} answered HTTP ${response.status}: ${text.slice(0, 500)}`,
      );
    return text ? JSON.parse(text) : {};
  }
}

interface RawReceived {
  ackId: string;
  message: { messageId: string; publishTime: string; attributes?: Attributes; data?: string };
}

export interface ReceivedMessage {
  messageId: string;
  publishTime: string;
  attributes: Attributes;
  data: Buffer;
}
