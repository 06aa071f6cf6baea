/** etl: a trigger message -> one ETL run -> the completion event on daily-kpis-completed. */
import * as functions from '@google-cloud/functions-framework';
import { dayIn } from '../../shared/dates';
import { parseTrigger } from '../../shared/pipeline/contracts';
import { pubsubHandler } from '../../shared/pipeline/function-runtime';
import { runTriggeredEtl } from '../../shared/pipeline/triggered-etl';

functions.cloudEvent(
  'etl',
  pubsubHandler('etl', async (message, context) => {
    // days_back counts from the day (in the business zone) the scheduler published, so a late
    // redelivery builds the same days.
    const trigger = parseTrigger(message.data, dayIn(message.publishTime, context.job.timeZone), context.settings.maxRangeDays);
    await runTriggeredEtl(context, context.job, { trigger, runId: context.runId, username: context.username, publishedAt: message.publishTime });
  }),
);
