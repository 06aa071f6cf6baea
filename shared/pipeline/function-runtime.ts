/**
 * What the three Cloud Functions share: the ports, built once per instance from the environment
 * (the one place, shared/ports.ts), the config, and the policy every handler follows:
 *
 * - a message that can never succeed (not JSON, not an object, bad date, unknown field, a range
 *   too long) is logged as an error with the reason and acknowledged: no retry, nothing written;
 * - an event older than KPIS_MAX_EVENT_AGE_HOURS is acknowledged with a warning instead of run
 *   (Google's guard against retrying forever);
 * - a permanent failure (SQL or schema error, a missing table, config) is logged with its reason
 *   and acknowledged: the etl function has already published its failed completion event;
 * - a transient failure (isTransientFailure) throws, so Pub/Sub retries it (bounded by the
 *   subscription's delivery attempts, then the dead-letter topic);
 * - the same message delivered twice at the same time to one instance runs once.
 *
 * Logs are JSON lines with severity, message, function and run_id, as Cloud Logging reads them.
 */
import { clockFromEnv } from '../clock';
import type { EtlJob } from '../config/etl-config';
import type { KpiCheck, LogCheck } from '../config/monitor-config';
import { InvalidMessageError, isTransientFailure, toError, UsageError } from '../errors';
import { createLogger, type Logger } from '../log';
import type { Ports } from '../ports';
import { logLevelFromEnv, positiveNumberFromEnv } from '../settings';
import { decodePubSubEvent, type PubSubCloudEvent, type PubSubMessage } from './pubsub-event';

export const FUNCTION_NAMES = ['etl', 'kpi-monitor', 'log-monitor'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export interface FunctionSettings {
  /** Older events are acknowledged without running. */
  maxEventAgeHours: number;
  /** The longest range one trigger may ask for. */
  maxRangeDays: number;
}

/**
 * What a runtime is built from: the environment it reads (once, here), and optionally the ports,
 * clock and logger to use instead of the ones the environment describes (the local stack and the
 * tests pass theirs).
 */
export interface RuntimeOptions {
  env: NodeJS.ProcessEnv;
  clock?: () => Date;
  logger?: Logger;
  openPorts?: () => Promise<Ports>;
}

/**
 * The configs, each loaded when a function first asks for it: the etl function never reads the
 * checks, so a broken kpis_config.json does not stop it. Cached once loaded.
 */
export interface FunctionConfigs {
  etlJob(): Promise<EtlJob>;
  kpiChecks(): Promise<KpiCheck[]>;
  logChecks(): Promise<LogCheck[]>;
}

/** What a handler's work receives: the ports flattened, the configs, and this message's run id. */
export type FunctionContext = Omit<Ports, 'close' | 'spec'> &
  FunctionConfigs & {
    settings: FunctionSettings;
    clock: () => Date;
    logger: Logger;
    runId: string;
    username: string;
  };

export interface FunctionRuntime {
  settings: FunctionSettings;
  clock: () => Date;
  logger: Logger;
  configs: FunctionConfigs;
  /** The ports, opened on the first call (the first event) and kept for the next ones. */
  ports(): Promise<Ports>;
  /** Messages running in this instance, by function and message id: a duplicate waits for the first. */
  inFlight: Map<string, Promise<void>>;
  /** Every delivery being handled, from its first line to its answer (pubsubHandler adds them). */
  handling: Set<Promise<void>>;
  /** Resolves once no delivery is being handled. */
  idle(): Promise<void>;
  /** Closes the ports once the deliveries being handled have ended. */
  close(): Promise<void>;
}

/** Builds a runtime from explicit arguments; nothing is opened or loaded until an event needs it. */
export function createFunctionRuntime(options: RuntimeOptions): FunctionRuntime {
  const { env } = options;
  const logger = options.logger ?? createLogger({ level: logLevelFromEnv(env) ?? 'INFO' });
  const clock = options.clock ?? clockFromEnv(env);
  const settings = {
    maxEventAgeHours: positiveNumberFromEnv(env, 'KPIS_MAX_EVENT_AGE_HOURS', 24),
    maxRangeDays: positiveNumberFromEnv(env, 'KPIS_MAX_RANGE_DAYS', 366),
  };
  // Loaded on first use: the client libraries, joi and the configs cost a cold start nothing.
  const openPorts = options.openPorts ?? (async () => (await import('../ports')).openPorts({ env, logger, clock }));
  const files = once(() => import('../config/files'));
  const etlJob = once(async () => (await import('../config/etl-config')).loadEtlConfig((await files()).configPath('etl', env)));
  const configs: FunctionConfigs = {
    etlJob,
    kpiChecks: once(async () => {
      const { configPath } = await files();
      return (await import('../config/calendar')).loadMonitorChecks(configPath('kpis', env), configPath('calendar', env));
    }),
    logChecks: once(async () => {
      const job = await etlJob();
      const { etlDataset } = await import('../config/etl-config');
      return (await import('../config/monitor-config')).loadLogChecks((await files()).configPath('logs', env), job.jobName, etlDataset(job));
    }),
  };
  const ports = memoized(openPorts);
  const handling = new Set<Promise<void>>();
  const idle = async () => {
    while (handling.size > 0) await Promise.allSettled([...handling]);
  };
  return {
    settings,
    clock,
    logger,
    configs,
    ports: () => ports.get(),
    inFlight: new Map(),
    handling,
    idle,
    async close() {
      // A delivery still running uses the ports: closed under it, it fails (DuckDB crashed the process).
      await idle();
      const current = ports.forget();
      if (current) await (await current.catch(() => null))?.close();
    },
  };
}

/** `load`, run on the first call and kept (see memoized). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  const memo = memoized(load);
  return () => memo.get();
}

/**
 * A load run once and kept: `get` starts it on the first call and returns the same promise after;
 * a failed load is forgotten, so the next event tries again. `forget` drops it and returns it.
 */
function memoized<T>(load: () => Promise<T>): { get(): Promise<T>; forget(): Promise<T> | undefined } {
  let loaded: Promise<T> | undefined;
  return {
    get() {
      loaded ??= load().catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
    forget() {
      const current = loaded;
      loaded = undefined;
      return current;
    },
  };
}

/**
 * The runtime the registered functions use: built from process.env at the first event (the one
 * place that reads it), unless the local stack or a test installed one built from its arguments.
 */
let installed: FunctionRuntime | null = null;

function currentRuntime(): FunctionRuntime {
  installed ??= createFunctionRuntime({ env: process.env });
  return installed;
}

/** Makes the registered functions use this runtime (the local stack's, a test's). */
export function installFunctionRuntime(runtime: FunctionRuntime): void {
  installed = runtime;
}

/** The current runtime's ports, opened if needed: for local tools that drive the functions in-process. */
export function functionPorts(): Promise<Ports> {
  return currentRuntime().ports();
}

/** Closes and forgets the current runtime; the next event builds one again. For tests and the local stack. */
export async function closeFunctionRuntime(): Promise<void> {
  const current = installed;
  installed = null;
  await current?.close();
}

/** A run id from the message id: a redelivery carries the same one, and the run log shows it. */
export function runIdFor(functionName: FunctionName, messageId: string): string {
  return `${functionName}-${messageId}`;
}

export type FunctionWork = (message: PubSubMessage, context: FunctionContext) => Promise<void>;

/**
 * Wraps a function's work in the policy above; the result is what functions.cloudEvent takes. The
 * runtime is the installed one unless given (two instances of a function, in a test).
 */
export function pubsubHandler(functionName: FunctionName, work: FunctionWork, runtime: () => FunctionRuntime = currentRuntime) {
  const handle = async (event: PubSubCloudEvent, current: FunctionRuntime): Promise<void> => {
    const { inFlight } = current;
    const logger = current.logger.child({ function: functionName });
    let message: PubSubMessage;
    try {
      message = decodePubSubEvent(event, current.clock());
    } catch (error) {
      logger.error('message rejected and acknowledged: it can never succeed', { reason: toError(error).message, event_id: event.id ?? null });
      return;
    }
    const runId = runIdFor(functionName, message.messageId);
    const runLogger = logger.child({ run_id: runId });
    const ageHours = (current.clock().getTime() - message.publishTime.getTime()) / 3_600_000;
    if (ageHours > current.settings.maxEventAgeHours) {
      runLogger.warn('event too old: acknowledged without running', {
        published_at: message.publishTime.toISOString(),
        age_hours: Math.round(ageHours * 10) / 10,
        max_hours: current.settings.maxEventAgeHours,
      });
      return;
    }
    const key = `${functionName}:${message.messageId}`;
    const running = inFlight.get(key);
    if (running) {
      runLogger.warn('the same message is already running in this instance: waiting for it instead of running it twice');
      return running;
    }
    const { warehouse, publisher, slackWebhook, slackChannels } = await current.ports();
    const context: FunctionContext = {
      ...current.configs,
      warehouse,
      publisher,
      slackWebhook,
      slackChannels,
      settings: current.settings,
      clock: current.clock,
      logger: runLogger,
      runId,
      username: `function:${functionName}`,
    };
    const run = work(message, context).catch((error: unknown) => {
      const failure = toError(error);
      if (failure instanceof InvalidMessageError || failure instanceof UsageError) {
        runLogger.error('message rejected and acknowledged: it can never succeed', { reason: failure.message, message_id: message.messageId });
        return;
      }
      if (!isTransientFailure(failure)) {
        // Retrying would fail the same way until someone fixes the cause; then a new message reruns it.
        runLogger.error('failed permanently: acknowledged, not retried', { error: failure.message, message_id: message.messageId });
        return;
      }
      runLogger.error('failed; Pub/Sub will deliver the message again', { error: failure.message, message_id: message.messageId });
      throw failure;
    });
    inFlight.set(key, run);
    try {
      await run;
    } finally {
      inFlight.delete(key);
    }
  };
  return (event: PubSubCloudEvent): Promise<void> => {
    const current = runtime();
    const handled = handle(event, current);
    current.handling.add(handled);
    const forget = () => current.handling.delete(handled);
    handled.then(forget, forget);
    return handled;
  };
}
