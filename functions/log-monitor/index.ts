/** logMonitor: a completion event or the hourly heartbeat -> run-log checks -> alerts. */
import * as functions from '@google-cloud/functions-framework';
import { runLogMonitor } from '../../shared/monitor/log-monitor';
import { parseLogMonitorEvent } from '../../shared/pipeline/contracts';
import { pubsubHandler } from '../../shared/pipeline/function-runtime';

functions.cloudEvent(
  'logMonitor',
  pubsubHandler('log-monitor', async (message, context) => {
    const event = parseLogMonitorEvent(message.data);
    const outcome = await runLogMonitor(context, context.logChecks, { runId: context.runId, username: context.username });
    context.logger.info('log-monitor done', { trigger: event.kind, raised: outcome.alerts.length });
  }),
);
