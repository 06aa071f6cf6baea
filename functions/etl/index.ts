/** etl: a trigger message -> one ETL run -> the completion event on daily-kpis-completed. */
import type { FunctionWork } from '../../shared/pipeline/pubsub-handler';

/** What the function does with one message, under the runtime's policy (pubsubHandler). */
export const etlWork: FunctionWork = async (message, context) => {
  // Loaded with the first event, not at start-up: a cold start pays for the framework only.
  const [{ dayIn }, { parseTrigger }, { runTriggeredEtl }] = await Promise.all([
    import('../../shared/dates'),
    import('../../shared/pipeline/contracts'),
    import('../../shared/pipeline/triggered-etl'),
  ]);
  const job = await context.etlJob();
  // days_back counts from the day (in the business zone) the scheduler published, so a late
  // redelivery builds the same days.
  const trigger = parseTrigger(message.data, dayIn(message.publishTime, job.timeZone), context.settings.maxRangeDays);
  await runTriggeredEtl(context, job, {
    trigger,
    runId: context.runId,
    username: context.username,
    publishedAt: message.publishTime,
  });
};
