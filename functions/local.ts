/**
 * The three functions on local ports, with a Pub/Sub between them: what `npm run serve` and
 * `npm start` run. All of it lives in one process, so the three functions share one DuckDB
 * warehouse (a DuckDB file takes one writing process at a time).
 *
 * The Pub/Sub is one of three:
 * - `router`: the home-made push router (starts in milliseconds; `npm start`'s default);
 * - `emulator`: Google's Pub/Sub emulator, started here, with the topics and push subscriptions
 *   deploy.sh makes, and the functions publishing through the real @google-cloud/pubsub client;
 * - `running-emulator`: one the caller runs at PUBSUB_EMULATOR_HOST (its subscriptions are the
 *   caller's).
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Logger } from '../shared/log';
import { TOPICS } from '../shared/messaging/publisher';
import { LOCAL_PROJECT } from '../shared/messaging/router-publisher';
import type { PublisherSpec, Settings } from '../shared/settings';
import { createFunctionRuntime, type FunctionName, type FunctionRuntime } from '../shared/pipeline/function-runtime';
import { EmulatorAdmin, startPubSubEmulator, type PubSubEmulator } from '../shared/local/emulator';
import { DEAD_LETTER_TOPIC, LocalRouter, localSubscriptions } from '../shared/local/router';
import { registerFunctions, TARGETS } from './register';

export interface StackPorts {
  router: number;
  etl: number;
  'kpi-monitor': number;
  'log-monitor': number;
}

export const PUBSUB_KINDS = ['router', 'emulator', 'running-emulator'] as const;
export type PubSubKind = (typeof PUBSUB_KINDS)[number];

/** The pull subscriptions the emulator stack adds, so a person or a test can read what came out. */
export const EMULATOR_PULL_SUBSCRIPTIONS = {
  alerts: 'daily-kpis-alerts-pull',
  deadLetter: 'daily-kpis-dead-letter-keep',
} as const;

export interface LocalStack {
  /** Only with `pubsub: 'router'`. */
  router?: LocalRouter;
  routerUrl?: string;
  /** Only with `pubsub: 'emulator'`. */
  emulator?: PubSubEmulator;
  emulatorAdmin?: EmulatorAdmin;
  urls: Record<FunctionName, string>;
  /** The functions' runtime: its ports are the warehouse and publisher they use. */
  runtime: FunctionRuntime;
  close(): Promise<void>;
}

export interface StackOptions {
  ports: StackPorts;
  /** The functions' settings (the command's flags and environment, parsed once). */
  settings: Settings;
  /** Where the functions read secrets named by a variable (shared/ports.ts). */
  env: NodeJS.ProcessEnv;
  clock: () => Date;
  logger: Logger;
  pubsub: PubSubKind;
  /** Deliveries per message before the dead-letter topic; tests lower it. */
  maxAttempts?: number;
  retryDelayMs?: number;
  /** Where the broker pushes instead of a function's own server (a test's proxy in front of it). */
  pushTo?: Partial<Record<FunctionName, string>>;
  /** How long the emulator may take to listen. */
  emulatorStartTimeoutMs?: number;
}

export async function startLocalStack(options: StackOptions): Promise<LocalStack> {
  const servers: FunctionServer[] = [];
  let broker: Broker | undefined;
  let runtime: FunctionRuntime | undefined;
  // In this order: the router delivers what it holds; the functions finish the deliveries they are
  // running, while the broker still takes what they publish; then the broker stops. Stopping the
  // emulator first cut its push connections, the servers closed at once, and the runtime's DuckDB
  // was closed under a monitor still running (a SIGSEGV on Ctrl-C).
  const closeStarted = async () => {
    await broker?.drain().catch(() => undefined);
    await Promise.all(servers.map((server) => server.stop()));
    await runtime?.idle();
    await broker?.close().catch(() => undefined);
  };
  try {
    // The servers listen before the broker that pushes to them, which tells the runtime where to
    // publish: the handlers find the runtime at each delivery, once it is built.
    registerFunctions(() => runtime ?? notStarted());
    const urls = await serveFunctions(options.ports, servers);
    const pushUrls = { ...urls, ...options.pushTo };
    broker = await startBroker(options, pushUrls);
    // The functions' runtime, built from this stack's arguments; process.env is left as it is.
    const started = createFunctionRuntime({
      env: options.env,
      settings: options.settings,
      publisher: broker.publisher,
    });
    runtime = started;
    return {
      ...broker.parts,
      urls,
      runtime: started,
      async close() {
        await closeStarted();
        await started.close();
      },
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}

/** A function's HTTP server; stop() refuses new connections and resolves once the running deliveries are answered. */
interface FunctionServer {
  stop(): Promise<void>;
}

async function serveFunctions(ports: StackPorts, servers: FunctionServer[]): Promise<Record<FunctionName, string>> {
  const urls = {} as Record<FunctionName, string>;
  for (const [name, target] of Object.entries(TARGETS) as [FunctionName, string][]) {
    const server = getTestServer(target);
    const stop = stopper(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[name], '127.0.0.1', resolve);
    });
    servers.push({ stop });
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return urls;
}

/**
 * How to stop a server without cutting a delivery short. Each answer given while stopping says
 * `Connection: close`: a kept-alive connection (the emulator's) would hold server.close() for the
 * keep-alive timeout after the last one.
 */
function stopper(server: Server): () => Promise<void> {
  const answering = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_request, response: ServerResponse) => {
    if (stopping) response.shouldKeepAlive = false;
    answering.add(response);
    response.once('close', () => answering.delete(response));
  });
  return () => {
    stopping = true;
    for (const response of answering) if (!response.headersSent) response.shouldKeepAlive = false;
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A delivery before the stack has built its runtime (a caller's emulator pushing early) fails, and comes again. */
function notStarted(): never {
  throw new Error('the local stack is still starting: deliver again');
}

interface Broker {
  parts: Pick<LocalStack, 'router' | 'routerUrl' | 'emulator' | 'emulatorAdmin'>;
  /** Where the functions publish; none: where the settings say ($KPIS_PUBLISHER, $PUBSUB_EMULATOR_HOST). */
  publisher?: PublisherSpec;
  /** Resolves once it has nothing left to deliver (the router; the emulator cannot say). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

function startBroker(options: StackOptions, pushUrls: Record<FunctionName, string>): Promise<Broker> {
  if (options.pubsub === 'router') return startRouter(options, pushUrls);
  if (options.pubsub === 'emulator') return startEmulator(options, pushUrls);
  // The caller's emulator: the real client finds it through PUBSUB_EMULATOR_HOST.
  return Promise.resolve({ parts: {}, drain: async () => undefined, close: async () => undefined });
}

async function startRouter(options: StackOptions, pushUrls: Record<FunctionName, string>): Promise<Broker> {
  const router = new LocalRouter({
    topicsDir: options.settings.topicsDir,
    clock: options.clock,
    logger: options.logger.child({ component: 'router' }),
    subscriptions: localSubscriptions(pushUrls, LOCAL_PROJECT),
    maxAttempts: options.maxAttempts,
    retryDelayMs: options.retryDelayMs,
  });
  const routerUrl = await router.listen(options.ports.router);
  return {
    parts: { router, routerUrl },
    publisher: { kind: 'router', url: routerUrl },
    drain: () => router.idle(60_000),
    close: () => router.close(),
  };
}

async function startEmulator(options: StackOptions, pushUrls: Record<FunctionName, string>): Promise<Broker> {
  const project = LOCAL_PROJECT;
  const emulator = await startPubSubEmulator({ project, startTimeoutMs: options.emulatorStartTimeoutMs });
  try {
    const admin = new EmulatorAdmin(emulator.url, project);
    await createEmulatorTopology(admin, pushUrls, options.maxAttempts ?? 5);
    options.logger.info('Pub/Sub emulator ready', {
      host: emulator.host,
      started_in_ms: emulator.startedInMs,
      log: emulator.logFile,
    });
    return {
      parts: { emulator, emulatorAdmin: admin },
      // The real client, pointed at the emulator, whatever $KPIS_PUBLISHER says.
      publisher: { kind: 'pubsub', projectId: project, emulatorHost: emulator.host },
      drain: async () => undefined,
      close: () => emulator.stop(),
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** The topics and subscriptions deploy.sh makes, on the emulator, pushing to the local servers. */
export async function createEmulatorTopology(
  admin: EmulatorAdmin,
  pushUrls: Record<FunctionName, string>,
  maxDeliveryAttempts: number,
): Promise<void> {
  for (const topic of [...Object.values(TOPICS), DEAD_LETTER_TOPIC]) await admin.createTopic(topic);
  for (const subscription of localSubscriptions(pushUrls, admin.project)) {
    await admin.createPushSubscription(subscription, { topic: DEAD_LETTER_TOPIC, maxDeliveryAttempts });
  }
  await admin.createPullSubscription(EMULATOR_PULL_SUBSCRIPTIONS.alerts, TOPICS.alerts);
  await admin.createPullSubscription(EMULATOR_PULL_SUBSCRIPTIONS.deadLetter, DEAD_LETTER_TOPIC);
}
