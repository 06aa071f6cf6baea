/** `kpis migrate-run-log`: convert the cron job's run log. */
import { BACKUP_TABLE, MIGRATED_TABLE, migrateRunLog } from '../../shared/etl/migrate-run-log';
import { printJson, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse } from '../context';

export const migrateRunLogCommand: Command = {
  summary: "convert the run log (the cron job's pandas table) to daily-kpis' shape",
  usage: 'kpis migrate-run-log [--dry-run] [--json]',
  details: `daily-kpis reads and writes the cron job's run log as it is (ts DATETIME, dt STRING), so the old
scripts and the functions can share it while you move over. Once the scripts are off, this copies
its rows, cast to daily-kpis' types (ts TIMESTAMP, dt DATE), into a new table partitioned by dt and
clustered by job_name, keeps the old one as logs.${BACKUP_TABLE}, and puts the new one in its place.
  --dry-run          print the SQL and change nothing`,
  options: { 'dry-run': { type: 'boolean' } },
  run(values, _positionals, io) {
    return withRuntime(cliSettings(values, io), values, io, async (runtime) => {
      const outcome = await migrateRunLog(
        runtime.warehouse,
        { dryRun: Boolean(values['dry-run']) },
        { job: 'migrate_run_log', runId: runtime.newRunId() },
      );
      if (values.json) printJson(io, outcome);
      else if (outcome.action === 'none') io.stdout(`Nothing to do: ${outcome.reason}.\n`);
      else {
        const verb = outcome.action === 'planned' ? 'Would convert' : 'Converted';
        io.stdout(
          `${verb} ${outcome.converted.join(', ')} of logs.daily_logs on ${describeWarehouse(runtime.spec)}; the old table ${outcome.action === 'planned' ? 'would be' : 'is'} kept as ${outcome.backup}.\n`,
        );
        if (outcome.action === 'planned')
          io.stdout(
            `\n-- first: create logs.${MIGRATED_TABLE} as \`kpis init\` creates the run log\n${outcome.statements.map((statement) => `${statement};`).join('\n')}\n`,
          );
      }
      return 0;
    });
  },
};
