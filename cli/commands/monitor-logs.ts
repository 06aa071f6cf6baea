/** `kpis monitor-logs`: the run-log checks, and their alerts. */
import { CRON_OPTIONS, CRON_POSITIONALS, fromCronLine } from '../cron-line';
import { etlDataset } from '../../shared/config/etl-config';
import { namingSettingFiles } from '../../shared/config/validate';
import { loadLogChecks } from '../../shared/config/log-checks';
import { LOG_LOOKBACK_DAYS, runLogMonitor } from '../../shared/monitor/log-monitor';
import { printJson, table, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse } from '../context';
import { wholeDays } from '../options';
import { deliveryLine, localTopicsDir } from '../output';

export const monitorLogsCommand: Command = {
  summary: 'check in the run log that the ETL ran recently and succeeded, and publish the alerts',
  usage: 'kpis monitor-logs [PROJECT_ID] [--log-config FILE] [--days-back N] [--dry-run] [--json]',
  details: `  --log-config FILE  the checks (default config/log_config.json, or $KPIS_LOG_CONFIG),
                     in daily-kpis' shape or the cron job's
  --days-back N      how far back the run log is read for a finished run (default ${LOG_LOOKBACK_DAYS})
  --dry-run          judge and print only: publish nothing, write nothing
Raises when a job's newest finished run is older than its thresh_in_hours, when it has no run at
all, and when its newest run ended in error.`,
  options: {
    'log-config': { type: 'string' },
    'days-back': { type: 'string' },
    'dry-run': { type: 'boolean' },
    ...CRON_OPTIONS,
  },
  positionals: CRON_POSITIONALS,
  run(flags, positionals, io) {
    const { values, jobName } = fromCronLine(flags, positionals, ['daily']);
    const settings = cliSettings(values, io);
    const file = settings.logConfig;
    namingSettingFiles(settings, () => loadLogChecks(file));
    const lookbackDays = values['days-back'] === undefined ? undefined : wholeDays(values['days-back'], 1);
    return withRuntime(settings, values, io, async (runtime) => {
      const checks = loadLogChecks(file, runtime.job.jobName, etlDataset(runtime.job), jobName);
      const outcome = await runLogMonitor(runtime, checks, {
        runId: runtime.newRunId(),
        username: runtime.username,
        dryRun: Boolean(values['dry-run']),
        lookbackDays,
        timeZone: runtime.job.timeZone,
        jobName,
      });
      if (values.json) printJson(io, outcome.results);
      else {
        const rows = outcome.results.map((result) => [
          result.check,
          result.method,
          result.raise_flag ? `RAISED (${result.reason})` : 'ok',
          result.message,
        ]);
        io.stdout(
          `Run-log checks on ${describeWarehouse(runtime.spec)}:\n\n${table(['check', 'method', 'result', 'detail'], rows, [0, 1, 2, 3])}\n\n`,
        );
        io.stdout(`${deliveryLine(outcome.delivery, outcome.alerts.length, localTopicsDir(runtime))}\n`);
      }
      return 0;
    });
  },
};
