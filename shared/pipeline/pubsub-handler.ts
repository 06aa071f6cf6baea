/**
 * A function's work wrapped in the policy every handler follows; the result is what
 * functions.cloudEvent takes. A delivery goes through these steps, in order:
 *
 * 1. decode: a message that can never succeed (not JSON, not an object, a bad id or publish time)
 *    is logged as an error with the reason and acknowledged;
 * 2. age: an event older than KPIS_MAX_EVENT_AGE_HOURS is acknowledged with a warning instead of
 *    run (Google's guard against retrying forever);
 * 3. in flight: the same message delivered twice at the same time to one instance runs once;
 * 4. run: the work, on the runtime's ports and configs, under this message's run id;
 * 5. failure: acknowledged or thrown for a redelivery, as ./failure-policy.ts decides.
 *
 * Logs are JSON lines with severity, message, function and run_id, as Cloud Logging reads them.
 */
import { toError } from '../errors';
import type { Logger } from '../log';
import { REJECTED, settleFailure } from './failure-policy';
import { runIdFor, type FunctionContext, type FunctionName, type FunctionRuntime } from './function-runtime';
import { decodePubSubEvent, type PubSubCloudEvent, type PubSubMessage } from './pubsub-event';

export type FunctionWork = (message: PubSubMessage, context: FunctionContext) => Promise<void>;

/** One function's work under the policy above, on the runtime `runtime()` gives at each delivery. */
export function pubsubHandler(functionName: FunctionName, work: FunctionWork, runtime: () => FunctionRuntime) {
  return (event: PubSubCloudEvent): Promise<void> => {
    const current = runtime();
    return current.deliveries.track(handle(event, { functionName, work, runtime: current }));
  };
}

interface Handler {
  functionName: FunctionName;
  work: FunctionWork;
  runtime: FunctionRuntime;
}

async function handle(event: PubSubCloudEvent, handler: Handler): Promise<void> {
  const { functionName, runtime } = handler;
  const logger = runtime.logger.child({ function: functionName });
  const message = decodeOrReject(event, runtime.clock(), logger);
  if (message === null) return;
  const runLogger = logger.child({ run_id: runIdFor(functionName, message.messageId) });
  if (isTooOld(message, runtime, runLogger)) return;
  const key = `${functionName}:${message.messageId}`;
  const running = runtime.inFlight.get(key);
  if (running) {
    runLogger.warn('the same message is already running in this instance: waiting for it instead of running it twice');
    return running;
  }
  const context = await contextFor(handler, message, runLogger);
  const run = handler
    .work(message, context)
    .catch((error: unknown) => settleFailure(error, runLogger, message.messageId));
  return runtime.inFlight.hold(key, run);
}

/** Step 1: the message, or null once a message that can never succeed is logged (and so acknowledged). */
function decodeOrReject(event: PubSubCloudEvent, now: Date, logger: Logger): PubSubMessage | null {
  try {
    return decodePubSubEvent(event, now);
  } catch (error) {
    logger.error(REJECTED, { reason: toError(error).message, event_id: event.id ?? null });
    return null;
  }
}

/** Step 2: whether the event is past the age the runtime runs, logged as a warning when it is. */
function isTooOld(message: PubSubMessage, runtime: FunctionRuntime, logger: Logger): boolean {
  const maxHours = runtime.settings.maxEventAgeHours;
  const ageHours = (runtime.clock().getTime() - message.publishTime.getTime()) / 3_600_000;
  if (ageHours <= maxHours) return false;
  logger.warn('event too old: acknowledged without running', {
    published_at: message.publishTime.toISOString(),
    age_hours: Math.round(ageHours * 10) / 10,
    max_hours: maxHours,
  });
  return true;
}

/** Step 4's context: the runtime's ports (opened at the first event) and configs, and this message's run. */
async function contextFor(
  { functionName, runtime }: Handler,
  message: PubSubMessage,
  logger: Logger,
): Promise<FunctionContext> {
  const { warehouse, publisher, slackWebhook, slackChannels } = await runtime.ports();
  return {
    ...runtime.configs,
    warehouse,
    publisher,
    slackWebhook,
    slackChannels,
    settings: runtime.settings,
    clock: runtime.clock,
    logger,
    runId: runIdFor(functionName, message.messageId),
    username: `function:${functionName}`,
  };
}
