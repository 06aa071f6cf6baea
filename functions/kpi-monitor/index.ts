/** kpiMonitor: a completion event -> KPI checks for the run's complete days -> alerts. */
import * as functions from '@google-cloud/functions-framework';
import { checkCompletedRun } from '../../shared/pipeline/completed-run-checks';
import { parseCompletion } from '../../shared/pipeline/contracts';
import { pubsubHandler } from '../../shared/pipeline/function-runtime';

functions.cloudEvent(
  'kpiMonitor',
  pubsubHandler('kpi-monitor', async (message, context) => {
    const completion = parseCompletion(message.data);
    const outcome = await checkCompletedRun(context, context.kpiChecks, completion, { runId: context.runId, username: context.username, timeZone: context.job.timeZone });
    context.logger.info('kpi-monitor done', { action: outcome.action, etl_run_id: completion.run_id });
  }),
);
