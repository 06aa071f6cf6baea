/**
 * `kpis`: the command line of daily-kpis. Each command parses its flags, opens the runtime and
 * calls one use-case from shared/. Exit codes: 0 done, 1 failed, 2 bad flags, dates or config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dayCount, resolveDateRange, type DateRange } from '../shared/dates';
import { positiveNumberFromEnv } from '../shared/settings';
import { writeReport } from '../shared/report/page';
import { CLOUD_DEPENDENCIES, stageFunctions } from '../shared/deploy/stage';
import { DEFAULT_REPORT_DAYS, DEFAULT_REPORT_FILE, reportChecks } from '../shared/report/report';
import { ConfigError, KpisError, UsageError } from '../shared/errors';
import { runEtl, type EtlOutcome } from '../shared/etl/run-etl';
import { dropKpiTables, initWarehouse, tablesReadByChecks, tablesWithRoles } from '../shared/etl/init';
import { CRON_HELP, CRON_OPTIONS, CRON_POSITIONALS, ETL_ACTIONS, fromCronLine } from './cron-line';
import { BACKUP_TABLE, MIGRATED_TABLE, migrateRunLog } from '../shared/etl/migrate-run-log';
import { loadEtlConfig } from '../shared/config/etl-config';
import { configuredSource, loadEvents } from '../shared/events/load-events';
import { DEMO_DAYS, seedDemo } from '../shared/events/seed-demo';
import { EVENT_FORMATS, type EventFormat } from '../shared/events/parse-events';
import { loadKpiChecks, loadLogChecks } from '../shared/config/monitor-config';
import { configPath } from '../shared/config/files';
import { checkQueries, describeProblems } from '../shared/config/check-queries';
import { addDays, daysBetween } from '../shared/dates';
import { runKpiMonitor } from '../shared/monitor/kpi-monitor';
import { LOG_LOOKBACK_DAYS, runLogMonitor } from '../shared/monitor/log-monitor';
import { checkLabel, type CheckResult } from '../shared/monitor/detect';
import type { DeliveryReport } from '../shared/alerts/deliver';
import { LocalTopicPublisher, TOPICS } from '../shared/messaging/publisher';
import { formatChange, formatNumber } from '../shared/format';
import { COMMON, COMMON_HELP, printJson, table, withRuntime, type Command, type Options, type Values } from './command';
import { configuredToday, describeWarehouse, today, type Io, type Runtime } from './context';
import { LOCAL_COMMANDS } from './local-commands';

const DATE_HELP = `  --date D           one day, YYYY-MM-DD (a day of the config's time_zone, default UTC)
  --days-back N      today-N .. today (default 1: yesterday and today)
  --from D --to D    an inclusive range`;

const DATE_OPTIONS: Options = {
  date: { type: 'string' },
  'days-back': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
};

function dateRangeFrom(values: Values, runtimeToday: string) {
  const daysBack = values['days-back'];
  if (daysBack !== undefined && !/^\d+$/.test(String(daysBack))) {
    throw new UsageError(`--days-back must be a whole number of days, 0 or more, got ${JSON.stringify(daysBack)}`);
  }
  return resolveDateRange(
    {
      date: values.date as string | undefined,
      daysBack: daysBack === undefined ? undefined : Number(daysBack),
      from: values.from as string | undefined,
      to: values.to as string | undefined,
    },
    runtimeToday,
  );
}

/** --days-back N, a whole number of days from `min`. */
function wholeDays(raw: string | boolean | undefined, min: number): number {
  if (!/^\d+$/.test(String(raw)) || Number(raw) < min || Number(raw) > 100_000) throw new UsageError(`--days-back must be a whole number of days from ${min}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The days a monitor checks: --date, --from/--to, or the --days-back N complete days before today (default yesterday). */
function monitorRange(values: Values, yesterday: string): DateRange {
  if (values['days-back'] !== undefined) {
    if (values.date !== undefined || values.from !== undefined || values.to !== undefined) throw new UsageError('give only one of --date, --days-back, or --from with --to');
    const days = wholeDays(values['days-back'], 1);
    return resolveDateRange({ from: addDays(yesterday, -(days - 1)), to: yesterday }, yesterday, 0);
  }
  return resolveDateRange({ date: values.date as string | undefined, from: values.from as string | undefined, to: values.to as string | undefined }, yesterday, 0);
}

/** A report's days: --from/--to, or the default weeks up to yesterday; longer than the maximum is refused before any work. */
function reportRange(values: Values, yesterday: string, env: NodeJS.ProcessEnv): DateRange {
  const range = values.from === undefined && values.to === undefined ? { start: addDays(yesterday, -(DEFAULT_REPORT_DAYS - 1)), end: yesterday } : resolveDateRange({ from: values.from as string | undefined, to: values.to as string | undefined }, yesterday, 0);
  const maximum = positiveNumberFromEnv(env, 'KPIS_MAX_RANGE_DAYS', 366);
  const days = dayCount(range.start, range.end) + 1;
  if (days > maximum) throw new UsageError(`--from ${range.start} --to ${range.end} is ${days} days, more than the ${maximum} a report may cover (KPIS_MAX_RANGE_DAYS): narrow the range`);
  return range;
}

/** The cron job's --etl-action delete: says what it drops, and drops it only with --yes. */
async function deleteTablesCommand(values: Values, io: Io): Promise<number> {
  const file = configPath('etl', io.env, values.config as string | undefined);
  const job = loadEtlConfig(file);
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
  return withRuntime(values, io, async (runtime) => {
    const dropped = await dropKpiTables(runtime.warehouse, runtime.job, { job: runtime.job.jobName, runId: runtime.newRunId() });
    if (values.json) printJson(io, { dropped });
    else io.stdout(`Dropped ${dropped.join(', ')} on ${describeWarehouse(runtime.spec)}.\n`);
    return 0;
  });
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Writes the script a dry run would send, so it can be read or pasted into the console. */
function writeDryRunSql(outcome: EtlOutcome, engine: string): string {
  const folder = path.resolve('.data/sql');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `etl_${outcome.result.start_date}_${outcome.result.end_date}.${engine}.sql`);
  writeFileSync(file, outcome.script ?? '');
  return path.relative(process.cwd(), file);
}

async function etlCommand(values: Values, io: Io, runtime: Runtime, range: DateRange): Promise<number> {
  const kpis = typeof values.kpis === 'string' ? values.kpis.split(',').map((name) => name.trim()).filter(Boolean) : undefined;
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
    const what = `${result.tables.join(', ')} for ${result.start_date}..${result.end_date}`;
    if (result.status === 'failed') {
      // A dry run changes nothing, so it cannot create the tables a first real run would.
      const hint = result.dry_run && /does not exist|Not found: Table/i.test(result.error ?? '') ? '\nCreate the tables first with `kpis init`.' : '';
      io.stderr(`ETL failed (run ${result.run_id}): ${result.error}${hint}\n`);
    }
    else if (result.dry_run) {
      const bytes = result.bytes_processed == null ? 'no byte estimate on this engine' : `would process ${formatBytes(result.bytes_processed)}`;
      io.stdout(`Dry run of ${what}: valid, ${bytes}. SQL written to ${sqlFile}\n`);
    } else io.stdout(`ETL succeeded (run ${result.run_id}): ${what} on ${describeWarehouse(runtime.spec)}\n`);
  }
  return outcome.result.status === 'succeeded' ? 0 : 1;
}


function checkRows(results: CheckResult[]): string[][] {
  return results.map((result) => [
    result.date,
    checkLabel(result.check, result.segment),
    formatNumber(result.metric),
    formatNumber(result.previous_metric),
    result.change === null ? '-' : formatChange(result.change),
    result.method,
    { raised: `RAISED (${result.severity})`, no_verdict: 'no verdict', error: 'FAILED', ok: 'ok' }[result.verdict],
  ]);
}

function deliveryLine(delivery: DeliveryReport, raised: number, publisherDir: string | undefined): string {
  const where = publisherDir ? ` (${path.join(publisherDir, `${TOPICS.alerts}.jsonl`)})` : '';
  const parts = [`${raised} raised`, `${delivery.published.length} published to ${TOPICS.alerts}${where}`];
  if (delivery.already_published.length > 0) parts.push(`${delivery.already_published.length} already published earlier`);
  if (delivery.slack === 'posted') parts.push(`${delivery.slack_alerts.length} posted to Slack`);
  if (delivery.slack === 'failed') parts.push(`Slack failed: ${delivery.slack_error}`);
  return `${parts.join(', ')}.`;
}

const COMMANDS: Record<string, Command> = {
  start: LOCAL_COMMANDS.start,
  etl: {
    summary: 'build the KPI tables for a day or a range of days',
    usage: 'kpis etl [PROJECT_ID] [--date D | --days-back N | --from D --to D] [--kpis a,b] [--dry-run] [--etl-name NAME] [--etl-action daily|init|delete [--yes]] [--json]',
    details: `${DATE_HELP}
  --kpis a,b         only these tables (default: every enabled one in the config)
  --dry-run          validate and estimate without writing; the SQL goes to .data/sql/
${CRON_HELP}
  --etl-action A     daily (default): build the days; init: \`kpis init\`; delete: drop the
                     config's KPI tables (never the events, the run log or the alerts), which
                     asks for --yes first`,
    options: { ...DATE_OPTIONS, kpis: { type: 'string' }, 'dry-run': { type: 'boolean' }, ...CRON_OPTIONS, yes: { type: 'boolean' } },
    positionals: CRON_POSITIONALS,
    run(flags, positionals, io) {
      const { values, action } = fromCronLine(flags, positionals, io, ETL_ACTIONS);
      if (action === 'init') return COMMANDS.init?.run(values, [], io) as Promise<number>;
      if (action === 'delete') return deleteTablesCommand(values, io);
      // Flags are checked before the warehouse is opened, so a typo costs nothing.
      const range = dateRangeFrom(values, configuredToday(values, io));
      return withRuntime(values, io, (runtime) => etlCommand(values, io, runtime, range));
    },
  },
  'load-events': {
    summary: 'append a CSV, JSON-lines or Parquet file of events to the source table',
    usage: 'kpis load-events FILE [--format csv|jsonl|parquet] [--table DATASET.TABLE] [--force] [--json]',
    details: `Columns: user_id (text, required), time (timestamp, required; no zone means UTC),
event_name (text), coins_added (whole number). CSV needs a header line. Every value is checked
first: a malformed file fails with its line and column, and nothing is loaded.
  --format F         csv, jsonl or parquet (default: from the extension)
  --table D.T        the source table (default: the one the config reads)
  --force            load a file whose content was loaded into the table before (a second load
                     refuses it by its SHA-256, which the run log records: its events would count twice)`,
    options: { format: { type: 'string' }, table: { type: 'string' }, force: { type: 'boolean' } },
    positionals: { min: 1, max: 1, name: 'one FILE' },
    async run(values, positionals, io) {
      const format = values.format as string | undefined;
      if (format !== undefined && !EVENT_FORMATS.includes(format as EventFormat)) {
        throw new UsageError(`--format must be one of ${EVENT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
      }
      return withRuntime(values, io, async (runtime) => {
        const table = configuredSource(runtime.job, values.table as string | undefined);
        const file = positionals[0] as string;
        const result = await loadEvents(runtime.warehouse, table, file, { job: runtime.job.jobName, runId: runtime.newRunId() }, { format: format as EventFormat | undefined, force: Boolean(values.force), username: runtime.username, clock: runtime.clock });
        if (values.json) printJson(io, result);
        else io.stdout(`Loaded ${result.rows.toLocaleString('en-US')} events from ${file} into ${result.table} (${describeWarehouse(runtime.spec)}).\n`);
        return 0;
      });
    },
  },
  'seed-demo': {
    summary: 'generate deterministic synthetic game events into the source table',
    usage: 'kpis seed-demo [--days N] [--replace] [--json]',
    details: `Weekly rhythm, steady growth, and an install spike on the latest complete day.
  --days N           days of history ending today (default ${DEMO_DAYS})
  --replace          delete the source table's events first (it refuses to add to existing ones)`,
    options: { days: { type: 'string' }, replace: { type: 'boolean' } },
    async run(values, _positionals, io) {
      const days = values.days === undefined ? DEMO_DAYS : Number(values.days);
      if (!Number.isInteger(days) || days < 2 || days > 3660) throw new UsageError(`--days must be a whole number from 2 to 3660, got ${JSON.stringify(values.days)}`);
      return withRuntime(values, io, async (runtime) => {
        const result = await seedDemo(
          runtime.warehouse,
          configuredSource(runtime.job),
          { today: today(runtime.clock, runtime.job.timeZone), now: runtime.clock(), days, whenNotEmpty: values.replace ? 'replace' : 'refuse' },
          { job: runtime.job.jobName, runId: runtime.newRunId() },
        );
        if (values.json) printJson(io, { ...result, days });
        else io.stdout(`Seeded ${result.rows.toLocaleString('en-US')} demo events for ${result.first_date}..${result.last_date} into ${result.table}.\n`);
        return 0;
      });
    },
  },
  init: {
    summary: 'create the datasets and tables (idempotent)',
    usage: 'kpis init [--warehouse SPEC] [--json]',
    details: 'Creates every dataset and table of the config and the run log, with partitioning, clustering\nand descriptions on BigQuery. Safe to run again.',
    options: {},
    async run(values, _positionals, io) {
      return withRuntime(values, io, async (runtime) => {
        const tables = await initWarehouse(runtime.warehouse, runtime.job);
        const names = tables.map((table) => `${table.dataset}.${table.table}`);
        if (values.json) printJson(io, { tables: names });
        else io.stdout(`Ready on ${describeWarehouse(runtime.spec)}: ${names.join(', ')}\n`);
        return 0;
      });
    },
  },
  monitor: {
    summary: 'check the KPIs for spikes, drops and missing days, and publish the alerts',
    usage: 'kpis monitor [PROJECT_ID] [--date D | --days-back N | --from D --to D] [--checks a,b] [--kpis-config FILE] [--dry-run] [--json]',
    details: `  --date D           the day to check (default: yesterday, the last complete day)
  --days-back N      the N complete days before today, each on its own
  --from D --to D    check every day of an inclusive range, each on its own
  --dry-run          judge and print only: publish nothing, write nothing
  --checks a,b       only these checks (default: every enabled one)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
Raised checks go to the ${TOPICS.alerts} topic (locally .data/topics/${TOPICS.alerts}.jsonl), once
per check (and segment) and day, and to Slack when $KPIS_SLACK_WEBHOOK_URL is set. Exit code 0
whether or not a check raised, 1 when a check failed to run (the others still ran, and the failure
is a pipeline alert); --json prints one array with a result per check, segment and day.`,
    options: { ...DATE_OPTIONS, checks: { type: 'string' }, 'kpis-config': { type: 'string' }, 'dry-run': { type: 'boolean' }, ...CRON_OPTIONS },
    positionals: CRON_POSITIONALS,
    run(flags, positionals, io) {
      const { values } = fromCronLine(flags, positionals, io, ['daily']);
      const yesterday = addDays(configuredToday(values, io), -1);
      const range = monitorRange(values, yesterday);
      let checks = loadKpiChecks(configPath('kpis', io.env, values['kpis-config'] as string | undefined));
      if (typeof values.checks === 'string') {
        const wanted = values.checks.split(',').map((name) => name.trim()).filter(Boolean);
        const unknown = wanted.filter((name) => !checks.some((check) => check.name === name));
        if (unknown.length > 0) throw new UsageError(`--checks: no check named ${unknown.join(', ')}; the config has ${checks.map((check) => check.name).join(', ')}`);
        checks = checks.filter((check) => wanted.includes(check.name)).map((check) => ({ ...check, isEnable: true }));
      }
      return withRuntime(values, io, async (runtime) => {
        const outcome = await runKpiMonitor(runtime, checks, { dates: daysBetween(range.start, range.end), timeZone: runtime.job.timeZone, runId: runtime.newRunId(), username: runtime.username, dryRun: Boolean(values['dry-run']) });
        if (values.json) printJson(io, outcome.results);
        else {
          const span = range.start === range.end ? range.start : `${range.start}..${range.end}`;
          io.stdout(`KPI checks for ${span} on ${describeWarehouse(runtime.spec)}:\n\n`);
          // A long range shows only what needs attention; --json has every result.
          const shown = outcome.results.length <= 40 ? outcome.results : outcome.results.filter((r) => r.verdict !== 'ok');
          if (shown.length > 0) io.stdout(`${table(['date', 'check', 'value', 'baseline', 'change', 'method', 'result'], checkRows(shown), [0, 1, 5, 6])}\n\n`);
          const ok = outcome.results.filter((r) => r.verdict === 'ok').length;
          if (shown.length < outcome.results.length) io.stdout(`${ok} of ${outcome.results.length} checks ok (not listed).\n`);
          for (const result of outcome.results.filter((r) => r.verdict === 'raised' || r.verdict === 'error')) io.stdout(`! ${result.message}\n`);
          const undecided = outcome.results.filter((r) => r.verdict === 'no_verdict');
          if (undecided.length > 0) io.stdout(`? ${undecided.length} check(s) gave no verdict, e.g. ${undecided[0]?.message}\n`);
          io.stdout(`\n${deliveryLine(outcome.delivery, outcome.alerts.length, localTopicsDir(runtime))}\n`);
        }
        // A check that could not run is a failure of the run; raised checks are its normal output.
        const failed = outcome.results.filter((result) => result.verdict === 'error');
        if (failed.length === 0) return 0;
        // The monitors read what the ETL writes: on a fresh warehouse, say what to run first.
        const unbuilt = failed.length === outcome.results.length && failed.every((result) => /does not exist|Not found: Table/i.test(result.message));
        io.stderr(`kpis monitor: ${failed.length} check(s) failed, e.g. ${failed[0]?.message}${unbuilt ? '\nThe KPI tables are not built yet: run `kpis etl` (or `npm start`) first.' : ''}\n`);
        return 1;
      });
    },
  },
  'monitor-logs': {
    summary: 'check in the run log that the ETL ran recently and succeeded, and publish the alerts',
    usage: 'kpis monitor-logs [PROJECT_ID] [--log-config FILE] [--days-back N] [--dry-run] [--json]',
    details: `  --log-config FILE  the checks (default config/log_config.json, or $KPIS_LOG_CONFIG),
                     in daily-kpis' shape or the cron job's
  --days-back N      how far back the run log is read for a finished run (default ${LOG_LOOKBACK_DAYS})
  --dry-run          judge and print only: publish nothing, write nothing
Raises when a job's newest finished run is older than its thresh_in_hours, when it has no run at
all, and when its newest run ended in error.`,
    options: { 'log-config': { type: 'string' }, 'days-back': { type: 'string' }, 'dry-run': { type: 'boolean' }, ...CRON_OPTIONS },
    positionals: CRON_POSITIONALS,
    run(flags, positionals, io) {
      const { values } = fromCronLine(flags, positionals, io, ['daily']);
      const file = configPath('logs', io.env, values['log-config'] as string | undefined);
      loadLogChecks(file);
      const lookbackDays = values['days-back'] === undefined ? undefined : wholeDays(values['days-back'], 1);
      return withRuntime(values, io, async (runtime) => {
        const checks = loadLogChecks(file, runtime.job.jobName);
        const outcome = await runLogMonitor(runtime, checks, { runId: runtime.newRunId(), username: runtime.username, dryRun: Boolean(values['dry-run']), lookbackDays });
        if (values.json) printJson(io, outcome.results);
        else {
          const rows = outcome.results.map((result) => [result.check, result.method, result.raise_flag ? `RAISED (${result.reason})` : 'ok', result.message]);
          io.stdout(`Run-log checks on ${describeWarehouse(runtime.spec)}:\n\n${table(['check', 'method', 'result', 'detail'], rows, [0, 1, 2, 3])}\n\n`);
          io.stdout(`${deliveryLine(outcome.delivery, outcome.alerts.length, localTopicsDir(runtime))}\n`);
        }
        return 0;
      });
    },
  },
  report: {
    summary: 'write one self-contained HTML report: each check charted with its baseline and band, the ETL runs, the alerts',
    usage: 'kpis report [--from D --to D] [--checks a,b] [--kpis-config FILE] [--out FILE] [--json]',
    details: `  --from D --to D    the days to show (default the ${DEFAULT_REPORT_DAYS} days up to yesterday; at most $KPIS_MAX_RANGE_DAYS, default 366)
  --checks a,b       only these checks (default every enabled one)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
  --out FILE         where to write it (default ${DEFAULT_REPORT_FILE})
Every check is judged on every day exactly as \`kpis monitor\` judges it, and drawn with its
baseline, the band inside which nothing raises, raised and lost days, and weekends shaded; each
segment of a segmented check has its own chart. The file has no script and fetches nothing: it
opens offline, from a mail or a bucket.`,
    options: { from: { type: 'string' }, to: { type: 'string' }, checks: { type: 'string' }, 'kpis-config': { type: 'string' }, out: { type: 'string' } },
    run(values, _positionals, io) {
      const yesterday = addDays(configuredToday(values, io), -1);
      const range = reportRange(values, yesterday, io.env);
      const wanted = typeof values.checks === 'string' ? values.checks.split(',').map((name) => name.trim()).filter(Boolean) : undefined;
      const checks = reportChecks(loadKpiChecks(configPath('kpis', io.env, values['kpis-config'] as string | undefined)), wanted);
      const out = (values.out as string | undefined) ?? DEFAULT_REPORT_FILE;
      return withRuntime(values, io, async (runtime) => {
        const written = await writeReport(runtime.warehouse, runtime.job, checks, { range, generatedAt: runtime.clock(), source: describeWarehouse(runtime.spec) }, out, { job: 'report', runId: runtime.newRunId() });
        if (values.json) printJson(io, { ...written, start_date: range.start, end_date: range.end });
        else {
          const failed = written.failed.length > 0 ? `; ${written.failed.length} check(s) could not be judged: ${written.failed.join(', ')}` : '';
          io.stdout(`Report of ${range.start}..${range.end}: ${written.checks} checks, ${written.raised} raised check-days, ${written.alerts} alerts, ${written.runs} ETL runs${failed}.\nWritten to ${out}\n`);
        }
        return 0;
      });
    },
  },
  'migrate-run-log': {
    summary: "convert the run log (the cron job's pandas table) to daily-kpis' shape",
    usage: 'kpis migrate-run-log [--dry-run] [--json]',
    details: `daily-kpis reads and writes the cron job's run log as it is (ts DATETIME, dt STRING), so the old
scripts and the functions can share it while you move over. Once the scripts are off, this copies
its rows, cast to daily-kpis' types (ts TIMESTAMP, dt DATE), into a new table partitioned by dt and
clustered by job_name, keeps the old one as logs.${BACKUP_TABLE}, and puts the new one in its place.
  --dry-run          print the SQL and change nothing`,
    options: { 'dry-run': { type: 'boolean' } },
    run(values, _positionals, io) {
      return withRuntime(values, io, async (runtime) => {
        const outcome = await migrateRunLog(runtime.warehouse, { dryRun: Boolean(values['dry-run']) }, { job: 'migrate_run_log', runId: runtime.newRunId() });
        if (values.json) printJson(io, outcome);
        else if (outcome.action === 'none') io.stdout(`Nothing to do: ${outcome.reason}.\n`);
        else {
          const verb = outcome.action === 'planned' ? 'Would convert' : 'Converted';
          io.stdout(`${verb} ${outcome.converted.join(', ')} of logs.daily_logs on ${describeWarehouse(runtime.spec)}; the old table ${outcome.action === 'planned' ? 'would be' : 'is'} kept as ${outcome.backup}.\n`);
          if (outcome.action === 'planned') io.stdout(`\n-- first: create logs.${MIGRATED_TABLE} as \`kpis init\` creates the run log\n${outcome.statements.map((statement) => `${statement};`).join('\n')}\n`);
        }
        return 0;
      });
    },
  },
  stage: {
    summary: 'write the folder deploy.sh deploys: compiled functions, sql/, config/, cloud dependencies only',
    usage: 'kpis stage DIR [--json]',
    details: `Empties DIR and writes the compiled functions and shared code, sql/ and config/, with a
package.json and package-lock.json whose dependencies are the cloud ones only (${CLOUD_DEPENDENCIES.join(', ')}),
pruned from this project's lock file: Cloud Build installs no DuckDB and compiles nothing.`,
    options: {},
    positionals: { min: 1, max: 1, name: 'one DIR' },
    run(values, positionals, io) {
      const result = stageFunctions(path.resolve(__dirname, '../..'), path.resolve(positionals[0] as string));
      if (values.json) printJson(io, result);
      else io.stdout(`Staged the functions in ${result.dir}: ${Object.keys(result.dependencies).length} dependencies, ${result.packages} packages in the lock file.\n`);
      return Promise.resolve(0);
    },
  },
  'time-zone': {
    summary: "print the business day's time zone of the ETL config (deploy.sh schedules in it)",
    usage: 'kpis time-zone [--config FILE]',
    details: 'Prints the IANA name the config\'s time_zone gives (UTC when it gives none): KPI days are calendar days there.',
    options: {},
    run(values, _positionals, io) {
      io.stdout(`${loadEtlConfig(configPath('etl', io.env, values.config as string | undefined)).timeZone}\n`);
      return Promise.resolve(0);
    },
  },
  schema: {
    summary: 'write the BigQuery schema file of every table, and list them for deploy.sh',
    usage: 'kpis schema --dir DIR [--kpis-config FILE] [--json]',
    details: `Writes DIR/DATASET.TABLE.json (BigQuery schema fields with modes and descriptions) for every
table of the config, the run log and the alert history, and prints one tab-separated line per
table: role (source, reference, kpi, run_log, alerts, check_read), dataset, table, partition column,
clustering columns, description, schema file. check_read lines name the tables the checks of the
kpis config read, which kpi-monitor needs to read. deploy.sh creates the tables (not the
reference and check_read ones) from these with \`bq mk\`, and grants access by role.
  --dir DIR          where to write the schema files (created if missing)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)`,
    options: { dir: { type: 'string' }, 'kpis-config': { type: 'string' } },
    async run(values, _positionals, io) {
      if (typeof values.dir !== 'string') throw new UsageError('schema needs --dir DIR');
      const job = loadEtlConfig(configPath('etl', io.env, values.config as string | undefined));
      const checks = loadKpiChecks(configPath('kpis', io.env, values['kpis-config'] as string | undefined)).filter((check) => check.isEnable);
      mkdirSync(values.dir, { recursive: true });
      const rows = tablesWithRoles(job).map(({ table, role }) => {
        const file = path.join(values.dir as string, `${table.dataset}.${table.table}.json`);
        const fields = table.columns.map((column) => ({ name: column.name, type: column.type, mode: column.required ? 'REQUIRED' : 'NULLABLE', description: column.description }));
        writeFileSync(file, `${JSON.stringify(fields, null, 2)}\n`);
        // '-' for none: a shell reading tab-separated fields would merge two tabs into one.
        return { role, dataset: table.dataset, table: table.table, partition: table.partitionBy ?? '-', clustering: table.clusterBy?.join(',') || '-', description: table.description, file };
      });
      for (const name of tablesReadByChecks(checks)) {
        const [dataset, table] = name.split('.') as [string, string];
        rows.push({ role: 'check_read', dataset, table, partition: '-', clustering: '-', description: 'Read by a KPI check.', file: '-' });
      }
      if (values.json) printJson(io, rows);
      else io.stdout(rows.map((row) => [row.role, row.dataset, row.table, row.partition, row.clustering, row.description, row.file].join('\t')).join('\n') + '\n');
      return 0;
    },
  },
  validate: {
    summary: 'check every config, and every table and check query on the warehouse, before a run or a deploy',
    usage: 'kpis validate [--kpis-config FILE] [--log-config FILE] [--json]',
    details: `Loads the three config files, renders every SQL file, and checks each table and check query on
the warehouse: DuckDB runs it limited to no rows, BigQuery dry-runs it (and this prints what it
would read). A table's columns must match its schema, in order; a check's query must return day
(DATE), value (a number) and optionally segment (STRING). Missing KPI tables are created empty
first, as \`kpis init\` does, so queries that read them can be checked. Every problem names the
config file, the entry, and the SQL file with line and column. Exit code 2 on any problem.
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
  --log-config FILE  the run-log checks (default config/log_config.json, or $KPIS_LOG_CONFIG)`,
    options: { 'kpis-config': { type: 'string' }, 'log-config': { type: 'string' } },
    run(values, _positionals, io) {
      const kpisFile = configPath('kpis', io.env, values['kpis-config'] as string | undefined);
      const checks = loadKpiChecks(kpisFile);
      loadLogChecks(configPath('logs', io.env, values['log-config'] as string | undefined));
      return withRuntime(values, io, async (runtime) => {
        const results = await checkQueries(runtime.warehouse, runtime.job, { file: kpisFile, checks }, { job: 'validate', runId: runtime.newRunId() });
        const problems = describeProblems(results);
        if (values.json) printJson(io, results);
        else {
          const rows = results.map((result) => [result.kind, result.entry.replace(/^\$\.kpis\./, ''), result.sql, result.problems.length === 0 ? 'ok' : `${result.problems.length} problem(s)`, result.bytes_processed === null ? '-' : formatBytes(result.bytes_processed)]);
          io.stdout(`Queries on ${describeWarehouse(runtime.spec)}:\n\n${table(['kind', 'entry', 'sql', 'result', 'reads'], rows, [0, 1, 2, 3])}\n\n`);
          io.stdout(problems.length === 0 ? `All ${results.length} queries are valid.\n` : `${problems.length} problem(s): see below.\n`);
        }
        if (problems.length === 0) return 0;
        io.stderr(`${problems.join('\n')}\n`);
        return 2;
      });
    },
  },
  serve: LOCAL_COMMANDS.serve,
  publish: LOCAL_COMMANDS.publish,
};


/** Where local alerts land, to tell the user; undefined when publishing to Pub/Sub. */
function localTopicsDir(runtime: Runtime): string | undefined {
  return runtime.publisher instanceof LocalTopicPublisher ? runtime.publisher.dir : undefined;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `kpis: daily product KPIs on BigQuery or an embedded DuckDB warehouse

Usage: kpis COMMAND [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}   ${command.summary}`)
  .join('\n')}

Run \`kpis COMMAND --help\` for a command's options.
${COMMON_HELP}
`;
}

function commandHelp(name: string, command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.\n${command.details}\n\n${COMMON_HELP}\n`;
}

/** Runs one command line and returns the exit code; never calls process.exit. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`kpis: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
    if (parsed.values.help) {
      io.stdout(commandHelp(name, command));
      return 0;
    }
    const expected = command.positionals ?? { min: 0, max: 0, name: '' };
    if (parsed.positionals.length > expected.max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[expected.max])}`);
    if (parsed.positionals.length < expected.min) throw new UsageError(`${name} takes ${expected.name}; see \`kpis ${name} --help\``);
    return await command.run(parsed.values as Values, parsed.positionals, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`kpis ${name}: ${error.message}\nRun \`kpis ${name} --help\` for usage.\n`);
      return 2;
    }
    const message = error instanceof KpisError ? error.message : (error as Error).stack ?? String(error);
    // The monitors read what the ETL writes: on a fresh warehouse, say what to run first.
    const hint = name.startsWith('monitor') && /does not exist|Not found: Table/i.test(message) ? '\nThe KPI tables are not built yet: run `kpis etl` (or `npm start`) first.' : '';
    io.stderr(`kpis ${name}: ${message}${hint}\n`);
    return 1;
  }
}

/** The entry point of bin/kpis.js. */
export function cli(): void {
  // A reader that stops early (`kpis monitor | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const io: Io = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), env: process.env };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`kpis: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
