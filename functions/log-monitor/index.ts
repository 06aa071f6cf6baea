/** logMonitor: a completion event or the hourly heartbeat -> run-log checks -> alerts. */
import * as functions from '@google-cloud/functions-framework';
import { pubsubHandler } from '../../shared/pipeline/function-runtime';

functions.cloudEvent(
  'logMonitor',
  pubsubHandler('log-monitor', async (message, context) => {
    // Loaded with the first event, not at start-up: a cold start pays for the framework only.
    const [{ parseLogMonitorEvent }, { runLogMonitor }] = await Promise.all([import('../../shared/pipeline/contracts'), import('../../shared/monitor/log-monitor')]);
    const event = parseLogMonitorEvent(message.data);
    const [checks, job] = await Promise.all([context.logChecks(), context.etlJob()]);
    const outcome = await runLogMonitor(context, checks, { runId: context.runId, username: context.username, timeZone: job.timeZone });
    context.logger.info('log-monitor done', { trigger: event.kind, raised: outcome.alerts.length });
  }),
);
