/** logMonitor: a completion event or the hourly heartbeat -> run-log checks -> alerts. */
import type { FunctionWork } from '../../shared/pipeline/pubsub-handler';

/** What the function does with one message, under the runtime's policy (pubsubHandler). */
export const logMonitorWork: FunctionWork = async (message, context) => {
  // Loaded with the first event, not at start-up: a cold start pays for the framework only.
  const [{ parseLogMonitorEvent }, { runLogMonitor }] = await Promise.all([
    import('../../shared/pipeline/contracts'),
    import('../../shared/monitor/log-monitor'),
  ]);
  const event = parseLogMonitorEvent(message.data);
  const [checks, job] = await Promise.all([context.logChecks(), context.etlJob()]);
  const outcome = await runLogMonitor(context, checks, {
    runId: context.runId,
    username: context.username,
    timeZone: job.timeZone,
  });
  context.logger.info('log-monitor done', { trigger: event.kind, raised: outcome.alerts.length });
};
