/** `kpis monitor`: the KPI checks of days, and their alerts. */
import { CRON_OPTIONS, CRON_POSITIONALS, fromCronLine } from '../cron-line';
import { configuredTables } from '../../shared/config/etl-config';
import { selectChecks } from '../../shared/config/kpi-checks';
import { daysBetween } from '../../shared/dates';
import { monitorCompleteDays, type HeldDay } from '../../shared/monitor/complete-days';
import { TOPICS } from '../../shared/messaging/publisher';
import { printJson, table, withJobRuntime, type Command } from '../command';
import {
  cliSettings,
  configuredToday,
  describeWarehouse,
  loadCliChecks,
  loadCliJob,
  type Io,
  type Runtime,
} from '../context';
import { DATE_OPTIONS, listFlag, monitorRange } from '../options';
import { checkRows, deliveryLine, localTopicsDir, messageLine } from '../output';

export const monitorCommand: Command = {
  summary: 'check the KPIs for spikes, drops and missing days, and publish the alerts',
  usage:
    'kpis monitor [PROJECT_ID] [--date D | --days-back N | --from D --to D] [--checks a,b] [--kpis-config FILE] [--calendar FILE] [--dry-run] [--judge-incomplete] [--json]',
  details: `  --date D           the day to check (default: yesterday, the last complete day)
  --days-back N      the N complete days before today, each on its own
  --from D --to D    check every day of an inclusive range, each on its own
  --dry-run          judge and print only: publish nothing, write nothing
  --judge-incomplete judge days not complete yet too (a check's day is complete once its end plus
                     its complete_after_hours is past; by default such days are skipped and named)
  --checks a,b       only these checks (default: every enabled one)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
  --calendar FILE    the known events (default config/calendar.json, or $KPIS_CALENDAR)
Raised checks go to the ${TOPICS.alerts} topic (locally .data/topics/${TOPICS.alerts}.jsonl), once
per check (and segment) and day, and to Slack when $KPIS_SLACK_WEBHOOK_URL is set. Exit code 0
whether or not a check raised, 1 when a check failed to run (the others still ran, and the failure
is a pipeline alert); --json prints one array with a result per check, segment and day. A check
that raises on a calendar one_off day is muted: recorded with the entry's note, sent nowhere.`,
  options: {
    ...DATE_OPTIONS,
    checks: { type: 'string' },
    'kpis-config': { type: 'string' },
    calendar: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'judge-incomplete': { type: 'boolean' },
    ...CRON_OPTIONS,
  },
  positionals: CRON_POSITIONALS,
  run(flags, positionals, io) {
    const { values, jobName } = fromCronLine(flags, positionals, ['daily']);
    const settings = cliSettings(values, io);
    const job = loadCliJob(settings);
    const range = monitorRange(values, configuredToday(job, settings));
    // The ports read the alerts' Slack channels (slack_webhooks) from the same settings.kpisConfig.
    const checks = selectChecks(loadCliChecks(settings), listFlag(values.checks));
    return withJobRuntime(job, settings, values, io, async (runtime) => {
      const outcome = await monitorCompleteDays(runtime, checks, {
        dates: daysBetween(range.start, range.end),
        timeZone: runtime.job.timeZone,
        tables: configuredTables(runtime.job),
        runId: runtime.newRunId(),
        username: runtime.username,
        dryRun: Boolean(values['dry-run']),
        jobName,
        judgeIncomplete: Boolean(values['judge-incomplete']),
      });
      // Days held back are said where a person reads: after the table, or on stderr beside --json.
      if (values.json) {
        printJson(io, outcome.results);
        if (outcome.held.length > 0) io.stderr(heldNote(outcome.held));
      } else printOutcome(io, outcome, range, runtime);
      return exitCode(io, outcome.results);
    });
  },
};

type MonitorOutcome = Awaited<ReturnType<typeof monitorCompleteDays>>;

/** The table of results, the raised, muted and undecided checks, the deliveries and the held days. */
function printOutcome(io: Io, outcome: MonitorOutcome, range: { start: string; end: string }, runtime: Runtime): void {
  const span = range.start === range.end ? range.start : `${range.start}..${range.end}`;
  io.stdout(`KPI checks for ${span} on ${describeWarehouse(runtime.spec)}:\n\n`);
  // A long range shows only what needs attention; --json has every result.
  const shown = outcome.results.length <= 40 ? outcome.results : outcome.results.filter((r) => r.verdict !== 'ok');
  if (shown.length > 0)
    io.stdout(
      `${table(['date', 'check', 'value', 'baseline', 'change', 'method', 'result'], checkRows(shown), [0, 1, 5, 6])}\n\n`,
    );
  const ok = outcome.results.filter((r) => r.verdict === 'ok').length;
  if (shown.length < outcome.results.length) io.stdout(`${ok} of ${outcome.results.length} checks ok (not listed).\n`);
  for (const result of outcome.results.filter((r) => r.verdict === 'raised' || r.verdict === 'error'))
    io.stdout(`! ${messageLine(result.message)}\n`);
  // Raised on a known event: said, with the calendar's note, but not sent.
  for (const result of outcome.results.filter((r) => r.verdict === 'muted'))
    io.stdout(`~ ${messageLine(result.message)}\n`);
  const undecided = outcome.results.filter((r) => r.verdict === 'no_verdict');
  if (undecided.length > 0)
    io.stdout(`? ${undecided.length} check(s) gave no verdict, e.g. ${messageLine(undecided[0]?.message ?? '')}\n`);
  io.stdout(
    `\n${deliveryLine(outcome.delivery, outcome.results.filter((r) => r.raise_flag).length, localTopicsDir(runtime))}\n`,
  );
  if (outcome.held.length > 0) io.stdout(`\n${heldNote(outcome.held)}`);
}

/** A check that could not run is a failure of the run; raised checks are its normal output. */
function exitCode(io: Io, results: MonitorOutcome['results']): number {
  const failed = results.filter((result) => result.verdict === 'error');
  if (failed.length === 0) return 0;
  // The monitors read what the ETL writes: on a fresh warehouse, say what to run first.
  const unbuilt = failed.length === results.length && failed.every((result) => result.failure === 'missing_table');
  io.stderr(
    `kpis monitor: ${failed.length} check(s) failed, e.g. ${messageLine(failed[0]?.message ?? '')}${unbuilt ? '\nThe KPI tables are not built yet: run `kpis etl` (or `npm start`) first.' : ''}\n`,
  );
  return 1;
}

/** The days not judged because they are not complete yet, by check, and how to judge them anyway. */
function heldNote(held: HeldDay[]): string {
  const lines = held.map(
    ({ check, day, graceHours, completeAt }) =>
      `  ${check} ${day}: complete at ${completeAt.toISOString()} (complete_after_hours ${graceHours})`,
  );
  return `Not judged, not complete yet:\n${lines.join('\n')}\nA later run judges them; --judge-incomplete judges them now.\n`;
}
