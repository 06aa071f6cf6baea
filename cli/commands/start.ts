/** `kpis start`. */
import path from 'node:path';
import { alertChange, alertLabel } from '../../shared/alerts/alert';
import { selectChecks } from '../../shared/config/kpi-checks';
import { CAMPAIGN_DAYS_AGO, DEMO_CALENDAR } from '../../shared/events/demo-campaign';
import { addDays } from '../../shared/dates';
import { writeReport } from '../../shared/report/page';
import { DEFAULT_REPORT_DAYS, DEFAULT_REPORT_FILE } from '../../shared/report/report';
import { type EtlJob } from '../../shared/config/etl-config';
import { runDemoChain, SCHEDULER_TRIGGER, type DemoChainResult } from '../../shared/local/demo-chain';
import { TOPICS } from '../../shared/messaging/publisher';
import { SUMMARY_METRICS, type DailySummary } from '../../shared/report/daily-summary';
import { EMULATOR_PULL_SUBSCRIPTIONS, startLocalStack, type LocalStack } from '../../functions/local';
import { emulatorBroker, routerBroker } from '../../shared/local/chain-brokers';
import type { EmulatorAdmin } from '../../shared/local/emulator';
import { pubsubFrom } from './serve';
import { DISPLAY_WIDTH, displayText, formatChange, formatNumber } from '../../shared/format';
import { printJson, table, type Command } from '../command';
import { messageLine } from '../output';
import {
  cliSettings,
  createCliLogger,
  describeWarehouse,
  loadCliChecks,
  loadCliJob,
  today,
  type Io,
  type Values,
} from '../context';
import type { Logger } from '../../shared/log';
import type { Settings } from '../../shared/settings';
import { clockFrom } from '../../shared/clock';

/** Where the messages of a run can be read afterwards, by Pub/Sub kind. */
const MESSAGES_NOTE = {
  router: {
    deadLetters: 'went to .data/topics/daily-kpis-dead-letter.jsonl',
    next: (date: string) => [
      'Every message is in .data/topics/<topic>.jsonl. Keep the functions running with `npm run serve`, then rerun a day with',
      `  npx kpis publish ${TOPICS.trigger} '{"date":"${date}"}'`,
    ],
  },
  emulator: {
    deadLetters: "went to the emulator's dead-letter topic",
    next: () => [
      'The emulator stopped with the run. Keep the chain running with `npm run serve -- --pubsub emulator`: it prints how to publish to it.',
    ],
  },
} as const;

function startReport(
  result: DemoChainResult,
  where: string,
  timeZone: string,
  pubsub: keyof typeof MESSAGES_NOTE,
): string {
  const note = MESSAGES_NOTE[pubsub];
  const lines: string[] = [...chainLines(result, where)];
  lines.push(
    `KPIs of ${result.date}, the last complete day (${timeZone}):`,
    '',
    summaryTable(result.previous_date, result.date, result.previous_kpis, result.kpis),
    '',
  );
  if (result.kpis.dau === 0)
    lines.push(
      `No events on ${result.date}. Load some with \`kpis load-events FILE\`, or reseed with \`kpis seed-demo --replace\`.`,
      '',
    );
  lines.push(...alertLines(result));
  if (result.dead_letters > 0)
    lines.push('', `${result.dead_letters} message(s) could not be delivered and ${note.deadLetters}.`);
  lines.push('', ...note.next(result.date), '');
  return lines.join('\n');
}

/** What the chain did: the history built, the trigger published, the ETL's outcome, the monitors. */
function chainLines(result: DemoChainResult, where: string): string[] {
  const lines: string[] = [];
  if (result.history_build) {
    const build = result.history_build;
    lines.push(
      `Seeded ${result.seeded_events.toLocaleString('en-US')} demo events into ${where} and built their history (${build.start_date}..${build.end_date}): ${build.status}.`,
    );
  }
  lines.push(
    `Published the scheduler's trigger ${JSON.stringify(SCHEDULER_TRIGGER)} to ${TOPICS.trigger} (message ${result.trigger_message_id}).`,
  );
  const etl = result.etl;
  if (!etl)
    lines.push('etl: no completion event arrived; see the log lines above (run with --verbose for all of them).');
  else if (etl.status === 'failed') lines.push(`etl: FAILED (run ${etl.run_id}): ${etl.error}`);
  else
    lines.push(`etl: succeeded (run ${etl.run_id}): ${etl.tables.join(', ')} for ${etl.start_date}..${etl.end_date}.`);
  lines.push(
    result.dead_letters === 0
      ? 'kpi-monitor and log-monitor: done.'
      : `${result.dead_letters} delivery(ies) failed on every attempt (see the log lines above, or --verbose).`,
    '',
  );
  return lines;
}

/** The alerts about the day and today, marking the ones this run published. */
function alertLines(result: DemoChainResult): string[] {
  if (result.alerts.length === 0) return [`No alerts about ${result.date}.`];
  const fresh = new Set(result.new_alert_ids);
  const earlier = result.alerts.length - fresh.size;
  const origin =
    earlier === 0
      ? 'all published by this run'
      : fresh.size === 0
        ? 'all published by an earlier run, so not again'
        : `${fresh.size} published by this run, ${earlier} by an earlier one`;
  const rows = result.alerts.map((alert) => [
    alert.severity,
    alert.kind,
    displayText(alertLabel(alert), DISPLAY_WIDTH.label),
    alert.date,
    formatNumber(alert.metric),
    formatNumber(alert.previous_metric),
    alertChange(alert),
    fresh.has(alert.alert_id) ? 'new' : '',
  ]);
  return [
    `Alerts about ${result.date} and today (${result.alerts.length}, ${origin}):`,
    '',
    table(['severity', 'kind', 'check', 'date', 'value', 'baseline', 'change', ''], rows, [0, 1, 2, 3, 7]),
    '',
    ...result.alerts.map((alert) => `! ${messageLine(alert.message)}`),
  ];
}

function summaryTable(previousDate: string, date: string, previous: DailySummary, current: DailySummary): string {
  const rows = SUMMARY_METRICS.map((metric) => {
    const before = previous[metric];
    const now = current[metric];
    const change = before === 0 ? (now === 0 ? '0.0%' : 'new') : formatChange((now - before) / before);
    return [metric, before.toLocaleString('en-US'), now.toLocaleString('en-US'), change];
  });
  return table(['kpi', previousDate, date, 'change'], rows);
}

export const startCommand: Command = {
  summary:
    'the whole chain once: demo data if empty, the functions and the router, the daily trigger, the KPIs and alerts',
  usage: 'kpis start [--pubsub router|emulator] [--warehouse SPEC] [--json]',
  details: `What \`npm start\` runs. Seeds the demo events only into an empty source table (never over your
own; with a GA4 export config, as the export's shards into a dataset without any) and builds their history once; starts the three functions and the push router on free local
ports; publishes the scheduler's trigger ${JSON.stringify(SCHEDULER_TRIGGER)}; waits until the ETL and both
monitors have finished; prints the KPIs of the last complete day and the alerts raised about it.
The demo's history holds a campaign day, ${CAMPAIGN_DAYS_AGO} days back, that its calendar
(${DEMO_CALENDAR}: config/calendar.json's entries and the campaign's; $KPIS_CALENDAR for another)
mutes: the report shows it shaded, with its note.
With --pubsub emulator the chain runs through Google's Pub/Sub emulator instead of the router
(a few seconds more to start; see \`kpis serve --help\`).`,
  options: { pubsub: { type: 'string' } },
  async run(values, _positionals, io) {
    // The functions log at INFO; a person running the demo wants the summary, unless --verbose.
    // The demo's calendar (the shipped entries and its campaign day) unless $KPIS_CALENDAR names one.
    const settings = cliSettings(values, io, {
      calendar: DEMO_CALENDAR,
      ...(values.verbose ? {} : { logLevel: 'WARNING' }),
    });
    const clock = clockFrom(settings.now);
    const logger = createCliLogger(io, settings, values.verbose as boolean | undefined);
    // The emulator's own environment variable does not choose it here: only the flag does.
    const pubsub = pubsubFrom(values, undefined) === 'emulator' ? 'emulator' : 'router';
    const start: StartRun = { settings, job: loadCliJob(settings), clock, logger, pubsub };
    const stopExitingOnSignals = exitOnSignals(pubsub);
    const stack = await startLocalStack({
      ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 },
      settings,
      env: io.env,
      clock,
      logger,
      pubsub,
    });
    try {
      return await runChainAndReport(stack, start, values, io);
    } finally {
      await stack.close();
      stopExitingOnSignals();
    }
  },
};

/** What one `kpis start` runs with. */
interface StartRun {
  settings: Settings;
  job: EtlJob;
  clock: () => Date;
  logger: Logger;
  pubsub: 'router' | 'emulator';
}

/** The emulator runs in its own process group, out of the terminal's Ctrl-C: exiting kills it. Returns the undo. */
function exitOnSignals(pubsub: StartRun['pubsub']): () => void {
  const exitOnSignal = () => process.exit(130);
  if (pubsub === 'emulator') for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, exitOnSignal);
  return () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, exitOnSignal);
  };
}

/** The demo chain through the stack, then the report; prints both; 0 if the ETL succeeded and nothing was dead-lettered. */
async function runChainAndReport(stack: LocalStack, start: StartRun, values: Values, io: Io): Promise<number> {
  const { settings, job, clock, logger } = start;
  const ports = await stack.runtime.ports();
  const broker = stack.router
    ? routerBroker(stack.router)
    : emulatorBroker(stack.emulatorAdmin as EmulatorAdmin, ports.warehouse, {
        ...EMULATOR_PULL_SUBSCRIPTIONS,
        completions: 'kpis-start-completions',
      });
  const result = await runDemoChain({ warehouse: ports.warehouse, clock, logger }, broker, job, {
    today: today(clock, job.timeZone),
    runId: `start-${clock().getTime().toString(36)}`,
    username: 'kpis start',
    ...(settings.calendar === DEMO_CALENDAR ? { demoCalendar: DEMO_CALENDAR } : {}),
  });
  // The report of the weeks up to the last complete day, with the run just made; its path is printed last.
  const reportRange = { start: addDays(result.date, -(DEFAULT_REPORT_DAYS - 1)), end: result.date };
  const checks = selectChecks(loadCliChecks(settings));
  const report = await writeReport(
    ports.warehouse,
    job,
    checks,
    { range: reportRange, generatedAt: clock(), source: describeWarehouse(ports.spec) },
    DEFAULT_REPORT_FILE,
    {
      job: 'report',
      runId: `report-${clock().getTime().toString(36)}`,
    },
  );
  if (values.json) printJson(io, { ...result, report: report.file });
  else
    io.stdout(
      `${startReport(result, describeWarehouse(ports.spec), job.timeZone, start.pubsub)}\nReport of ${reportRange.start}..${reportRange.end}, with charts of every check: ${path.resolve(report.file)}\n`,
    );
  return result.etl?.status === 'succeeded' && result.dead_letters === 0 ? 0 : 1;
}
