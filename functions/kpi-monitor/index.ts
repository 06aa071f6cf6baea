/** kpiMonitor: a completion event -> KPI checks for the run's complete days -> alerts. */
import type { FunctionWork } from '../../shared/pipeline/pubsub-handler';

/** What the function does with one message, under the runtime's policy (pubsubHandler). */
export const kpiMonitorWork: FunctionWork = async (message, context) => {
  // Loaded with the first event, not at start-up: a cold start pays for the framework only.
  const [{ parseCompletion }, { checkCompletedRun }, { configuredTables }] = await Promise.all([
    import('../../shared/pipeline/contracts'),
    import('../../shared/pipeline/completed-run-checks'),
    import('../../shared/config/etl-config'),
  ]);
  const completion = parseCompletion(message.data);
  const [checks, job] = await Promise.all([context.kpiChecks(), context.etlJob()]);
  const outcome = await checkCompletedRun(context, checks, completion, {
    runId: context.runId,
    username: context.username,
    timeZone: job.timeZone,
    // The days with events come from the ETL config's daily user panel, whatever a check's dataset.
    tables: configuredTables(job),
  });
  context.logger.info('kpi-monitor done', { action: outcome.action, etl_run_id: completion.run_id });
};
