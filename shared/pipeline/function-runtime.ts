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
import { loadEtlConfig } from '../config/etl-config';
import { configPath } from '../config/files';
import { loadKpiChecks, loadLogChecks, type KpiCheck, type LogCheck } from '../config/monitor-config';
import { ConfigError, InvalidMessageError, isTransientFailure, toError, UsageError } from '../errors';
import { createLogger, parseSeverity, type Logger } from '../log';
import { openPorts, type Ports } from '../ports';
import { decodePubSubEvent, type PubSubCloudEvent, type PubSubMessage } from './pubsub-event';

export const FUNCTION_NAMES = ['etl', 'kpi-monitor', 'log-monitor'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export interface FunctionSettings {
  /** Older events are acknowledged without running. */
  maxEventAgeHours: number;
  /** The longest range one trigger may ask for. */
  maxRangeDays: number;
}

interface Instance {
  ports: Ports;
  job: EtlJob;
  kpiChecks: KpiCheck[];
  logChecks: LogCheck[];
  settings: FunctionSettings;
  clock: () => Date;
  logger: Logger;
}

/** What a handler's work receives: the ports flattened, the config, and this message's run id. */
export type FunctionContext = Omit<Instance, 'ports'> &
  Omit<Ports, 'close' | 'spec'> & {
    runId: string;
    username: string;
  };

let instance: Promise<Instance> | null = null;
const inFlight = new Map<string, Promise<void>>();

/** The instance's ports and config, built on the first event and kept for the next ones. */
function getInstance(env: NodeJS.ProcessEnv = process.env): Promise<Instance> {
  instance ??= openInstance(env).catch((error: unknown) => {
    instance = null; // the next event tries again
    throw error;
  });
  return instance;
}

async function openInstance(env: NodeJS.ProcessEnv): Promise<Instance> {
  const logger = createLogger({ level: parseSeverity(env.KPIS_LOG_LEVEL) ?? 'INFO' });
  const clock = clockFromEnv(env);
  const settings = {
    maxEventAgeHours: positiveNumber(env, 'KPIS_MAX_EVENT_AGE_HOURS', 24),
    maxRangeDays: positiveNumber(env, 'KPIS_MAX_RANGE_DAYS', 366),
  };
  const job = loadEtlConfig(configPath('etl', env));
  const kpiChecks = loadKpiChecks(configPath('kpis', env));
  const logChecks = loadLogChecks(configPath('logs', env), job.jobName);
  const ports = await openPorts({ env, logger, clock });
  return { ports, job, kpiChecks, logChecks, settings, clock, logger };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new ConfigError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

/** The instance's ports, opened if needed: for local tools that drive the functions in-process. */
export async function functionPorts(): Promise<Ports> {
  return (await getInstance()).ports;
}

/** Closes the instance's ports; the next event opens them again. For tests and the local stack. */
export async function closeFunctionRuntime(): Promise<void> {
  const current = instance;
  instance = null;
  if (current) await (await current.catch(() => null))?.ports.close();
}

/** A run id from the message id: a redelivery carries the same one, and the run log shows it. */
export function runIdFor(functionName: FunctionName, messageId: string): string {
  return `${functionName}-${messageId}`;
}

/** Wraps a handler's work in the policy above; the result is what functions.cloudEvent takes. */
export function pubsubHandler(functionName: FunctionName, work: (message: PubSubMessage, context: FunctionContext) => Promise<void>) {
  return async (event: PubSubCloudEvent): Promise<void> => {
    const current = await getInstance();
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
      runLogger.warn('event too old: acknowledged without running', { published_at: message.publishTime.toISOString(), age_hours: Math.round(ageHours * 10) / 10, max_hours: current.settings.maxEventAgeHours });
      return;
    }
    const key = `${functionName}:${message.messageId}`;
    const running = inFlight.get(key);
    if (running) {
      runLogger.warn('the same message is already running in this instance: waiting for it instead of running it twice');
      return running;
    }
    const { ports, ...rest } = current;
    const context: FunctionContext = { ...rest, ...ports, logger: runLogger, runId, username: `function:${functionName}` };
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
}
