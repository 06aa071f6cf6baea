/** `kpis etl`: build the KPI tables for days; the cron job's command line too. */
import { TableNotFoundError } from '../../shared/errors';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DateRange } from '../../shared/dates';
import { runEtl, type EtlOutcome } from '../../shared/etl/run-etl';
import { dropKpiTables } from '../../shared/etl/init';
import { CRON_HELP, CRON_OPTIONS, CRON_POSITIONALS, ETL_ACTIONS, fromCronLine } from '../cron-line';
import { namedJob } from '../../shared/config/etl-config';
import { printJson, withJobRuntime, type Command, type Values } from '../command';
import { cliSettings, configuredToday, describeWarehouse, loadCliJob, type Io, type Runtime } from '../context';
import { DATE_HELP, DATE_OPTIONS, dateRangeFrom, listFlag } from '../options';
import { formatBytes } from '../output';
import { initCommand } from './init';

/** Writes the script a dry run would send, so it can be read or pasted into the console. */
function writeDryRunSql(outcome: EtlOutcome, engine: string): string {
  const folder = path.resolve('.data/sql');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `etl_${outcome.result.start_date}_${outcome.result.end_date}.${engine}.sql`);
  writeFileSync(file, outcome.script ?? '');
  return path.relative(process.cwd(), file);
}

async function buildDays(values: Values, io: Io, runtime: Runtime, range: DateRange): Promise<number> {
  const kpis = listFlag(values.kpis);
  const outcome = await runEtl(runtime, runtime.job, {
    range,
    kpis,
    dryRun: Boolean(values['dry-run']),
    runId: runtime.newRunId(),
    username: runtime.username,
  });
  const sqlFile = outcome.result.dry_run ? writeDryRunSql(outcome, runtime.warehouse.engine) : undefined;
  if (values.json) {
    printJson(io, sqlFile ? { ...outcome.result, sql_file: sqlFile } : outcome.result);
  } else {
    const { result } = outcome;
    const restated = result.restated_dates
      ? `, and ${result.restated_dates.join(', ')} again (late events: restate_days)`
      : '';
    const what = `${result.tables.join(', ')} for ${result.start_date}..${result.end_date}${restated}`;
    if (result.status === 'failed') {
      io.stderr(`ETL failed (run ${result.run_id}): ${result.error}${missingTableHint(outcome, runtime)}\n`);
    } else if (result.dry_run) {
      const bytes =
        result.bytes_processed == null
          ? 'no byte estimate on this engine'
          : `would process ${formatBytes(result.bytes_processed)}`;
      io.stdout(`Dry run of ${what}: valid, ${bytes}. SQL written to ${sqlFile}\n`);
    } else io.stdout(`ETL succeeded (run ${result.run_id}): ${what} on ${describeWarehouse(runtime.spec)}\n`);
  }
  return outcome.result.status === 'succeeded' ? 0 : 1;
}

/**
 * What to do about a missing table. A dry run changes nothing, so it cannot create the tables a
 * first real run would; a real run creates its own, so what is missing is the events (or the
 * warehouse named is not the one meant: a mistyped path opens a new, empty file).
 */
function missingTableHint(outcome: { result: { dry_run: boolean }; failure?: Error }, runtime: Runtime): string {
  if (!(outcome.failure instanceof TableNotFoundError)) return '';
  if (outcome.result.dry_run) return '\nCreate the tables first with `kpis init`.';
  return `\nNo events to build from on ${describeWarehouse(runtime.spec)}: load some with \`kpis load-events FILE\` or \`kpis seed-demo\`, or name the warehouse that holds them (--warehouse, $KPIS_WAREHOUSE).`;
}

/** The cron job's --etl-action delete: says what it drops, and drops it only with --yes. */
async function deleteTablesCommand(values: Values, io: Io, jobName: string | undefined): Promise<number> {
  const settings = cliSettings(values, io);
  const file = settings.etlConfig;
  const job = namedJob(loadCliJob(settings), jobName);
  const names = job.tables.map((t) => `${t.dataset_dst}.${t.name}`).join(', ');
  const what = `drops the KPI tables of ${file} (${names}); never the source events, the run log or the alert history. The next run builds them again from the events.`;
  if (!values.yes || values['dry-run']) {
    const told = `--etl-action delete ${what}\nNothing was dropped${values['dry-run'] ? ' (--dry-run)' : ': add --yes to drop them'}.\n`;
    if (values['dry-run']) {
      io.stdout(told);
      return 0;
    }
    io.stderr(`kpis etl: ${told}`);
    return 2;
  }
  return withJobRuntime(job, settings, values, io, async (runtime) => {
    const dropped = await dropKpiTables(runtime.warehouse, runtime.job, {
      job: runtime.job.jobName,
      runId: runtime.newRunId(),
    });
    if (values.json) printJson(io, { dropped });
    else io.stdout(`Dropped ${dropped.join(', ')} on ${describeWarehouse(runtime.spec)}.\n`);
    return 0;
  });
}

export const etlCommand: Command = {
  summary: 'build the KPI tables for a day or a range of days',
  usage:
    'kpis etl [PROJECT_ID] [--date D | --days-back N | --from D --to D] [--kpis a,b] [--dry-run] [--etl-name NAME] [--etl-action daily|init|delete [--yes]] [--json]',
  details: `${DATE_HELP}
  --kpis a,b         only these tables (default: every enabled one in the config)
  --dry-run          validate and estimate without writing; the SQL goes to .data/sql/
${CRON_HELP}
  --etl-action A     daily (default): build the days; init: \`kpis init\`; delete: drop the
                     config's KPI tables (never the events, the run log or the alerts), which
                     asks for --yes first`,
  options: {
    ...DATE_OPTIONS,
    kpis: { type: 'string' },
    'dry-run': { type: 'boolean' },
    ...CRON_OPTIONS,
    yes: { type: 'boolean' },
  },
  positionals: CRON_POSITIONALS,
  run(flags, positionals, io) {
    const { values, action, jobName } = fromCronLine(flags, positionals, ETL_ACTIONS);
    if (action === 'init') return initCommand.run(values, [], io);
    if (action === 'delete') return deleteTablesCommand(values, io, jobName);
    // Flags are checked before the warehouse is opened, so a typo costs nothing.
    const settings = cliSettings(values, io);
    const job = namedJob(loadCliJob(settings), jobName);
    const range = dateRangeFrom(values, configuredToday(job, settings));
    return withJobRuntime(job, settings, values, io, (runtime) => buildDays(values, io, runtime, range));
  },
};
