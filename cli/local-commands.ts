/**
 * The commands that run the pipeline's functions on this machine: `start` (the whole chain once,
 * what `npm start` runs), `serve` (the functions and the router until stopped, `npm run serve`),
 * and `publish` (the local twin of `gcloud pubsub topics publish`).
 */
import path from 'node:path';
import { alertChange, alertLabel } from '../shared/alerts/alert';
import { loadKpiChecks } from '../shared/config/monitor-config';
import { addDays } from '../shared/dates';
import { writeReport } from '../shared/report/page';
import { DEFAULT_REPORT_DAYS, DEFAULT_REPORT_FILE } from '../shared/report/report';
import { loadEtlConfig } from '../shared/config/etl-config';
import { configPath } from '../shared/config/files';
import { UsageError } from '../shared/errors';
import { runDemoChain, SCHEDULER_TRIGGER, type DemoChainResult } from '../shared/local/demo-chain';
import { TOPICS, type Attributes, type Publisher } from '../shared/messaging/publisher';
import { DEFAULT_ROUTER_URL, RouterPublisher } from '../shared/messaging/router-publisher';
import { functionPorts } from '../shared/pipeline/function-runtime';
import { SUMMARY_METRICS, type DailySummary } from '../shared/report/daily-summary';
import { DEFAULT_PORTS, startLocalStack, type StackPorts } from '../functions/local';
import { formatChange, formatNumber } from '../shared/format';
import { printJson, table, type Command, type Values } from './command';
import { createCliLogger, describeWarehouse, today, type Io } from './context';
import { clockFromEnv } from '../shared/clock';

/** Flags that say where the functions' process finds its warehouse and config: passed on as environment. */
/** The functions' environment: the caller's, with the command's flags in place of their variables. */
function functionEnv(values: Values, io: Io, defaults: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...defaults,
    ...io.env,
    ...(typeof values.warehouse === 'string' ? { KPIS_WAREHOUSE: values.warehouse } : {}),
    ...(typeof values.config === 'string' ? { KPIS_CONFIG: values.config } : {}),
  };
}

const start: Command = {
  summary: 'the whole chain once: demo data if empty, the functions and the router, the daily trigger, the KPIs and alerts',
  usage: 'kpis start [--warehouse SPEC] [--json]',
  details: `What \`npm start\` runs. Seeds the demo events only into an empty source table (never over your
own) and builds their history once; starts the three functions and the push router on free local
ports; publishes the scheduler's trigger ${JSON.stringify(SCHEDULER_TRIGGER)}; waits until the ETL and both
monitors have finished; prints the KPIs of the last complete day and the alerts raised about it.`,
  options: {},
  async run(values, _positionals, io) {
    // The functions log at INFO; a person running the demo wants the summary, unless --verbose.
    const env = functionEnv(values, io, values.verbose ? {} : { KPIS_LOG_LEVEL: 'WARNING' });
    const clock = clockFromEnv(env);
    const logger = createCliLogger(io, values.verbose as boolean | undefined);
    const job = loadEtlConfig(configPath('etl', env));
    const stack = await startLocalStack({ ports: { router: 0, etl: 0, 'kpi-monitor': 0, 'log-monitor': 0 }, env, clock, logger, useEmulator: false });
    try {
      const ports = await functionPorts();
      const result = await runDemoChain({ warehouse: ports.warehouse, clock, logger }, stack.router as NonNullable<typeof stack.router>, job, {
        today: today(clock, job.timeZone),
        runId: `start-${clock().getTime().toString(36)}`,
        username: 'kpis start',
      });
      // The report of the weeks up to the last complete day, with the run just made; its path is printed last.
      const reportRange = { start: addDays(result.date, -(DEFAULT_REPORT_DAYS - 1)), end: result.date };
      const checks = loadKpiChecks(configPath('kpis', env)).filter((check) => check.isEnable);
      const report = await writeReport(ports.warehouse, job, checks, { range: reportRange, generatedAt: clock(), source: describeWarehouse(ports.spec) }, DEFAULT_REPORT_FILE, { job: 'report', runId: `report-${clock().getTime().toString(36)}` });
      if (values.json) printJson(io, { ...result, report: report.file });
      else io.stdout(`${startReport(result, describeWarehouse(ports.spec), job.timeZone)}\nReport of ${reportRange.start}..${reportRange.end}, with charts of every check: ${path.resolve(report.file)}\n`);
      return result.etl?.status === 'succeeded' && result.dead_letters === 0 ? 0 : 1;
    } finally {
      await stack.close();
    }
  },
};

function startReport(result: DemoChainResult, where: string, timeZone: string): string {
  const lines: string[] = [];
  if (result.history_build) {
    const build = result.history_build;
    lines.push(`Seeded ${result.seeded_events.toLocaleString('en-US')} demo events into ${where} and built their history (${build.start_date}..${build.end_date}): ${build.status}.`);
  }
  lines.push(`Published the scheduler's trigger ${JSON.stringify(SCHEDULER_TRIGGER)} to ${TOPICS.trigger} (message ${result.trigger_message_id}).`);
  const etl = result.etl;
  if (!etl) lines.push('etl: no completion event arrived; see the log lines above (run with --verbose for all of them).');
  else if (etl.status === 'failed') lines.push(`etl: FAILED (run ${etl.run_id}): ${etl.error}`);
  else lines.push(`etl: succeeded (run ${etl.run_id}): ${etl.tables.join(', ')} for ${etl.start_date}..${etl.end_date}.`);
  lines.push(result.dead_letters === 0 ? 'kpi-monitor and log-monitor: done.' : `${result.dead_letters} delivery(ies) failed on every attempt (see the log lines above, or --verbose).`, '');
  lines.push(`KPIs of ${result.date}, the last complete day (${timeZone}):`, '', summaryTable(result.previous_date, result.date, result.previous_kpis, result.kpis), '');
  if (result.kpis.dau === 0) lines.push(`No events on ${result.date}. Load some with \`kpis load-events FILE\`, or reseed with \`kpis seed-demo --replace\`.`, '');
  const fresh = new Set(result.new_alert_ids);
  if (result.alerts.length === 0) lines.push(`No alerts about ${result.date}.`);
  else {
    const earlier = result.alerts.length - fresh.size;
    const origin = earlier === 0 ? 'all published by this run' : fresh.size === 0 ? 'all published by an earlier run, so not again' : `${fresh.size} published by this run, ${earlier} by an earlier one`;
    lines.push(`Alerts about ${result.date} and today (${result.alerts.length}, ${origin}):`, '');
    const rows = result.alerts.map((alert) => [
      alert.severity,
      alert.kind,
      alertLabel(alert),
      alert.date,
      formatNumber(alert.metric),
      formatNumber(alert.previous_metric),
      alertChange(alert),
      fresh.has(alert.alert_id) ? 'new' : '',
    ]);
    lines.push(table(['severity', 'kind', 'check', 'date', 'value', 'baseline', 'change', ''], rows, [0, 1, 2, 3, 7]), '');
    for (const alert of result.alerts) lines.push(`! ${alert.message}`);
  }
  if (result.dead_letters > 0) lines.push('', `${result.dead_letters} message(s) could not be delivered and went to .data/topics/daily-kpis-dead-letter.jsonl.`);
  lines.push('', 'Every message is in .data/topics/<topic>.jsonl. Keep the functions running with `npm run serve`, then rerun a day with', `  npx kpis publish ${TOPICS.trigger} '{"date":"${result.date}"}'`, '');
  return lines.join('\n');
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

const PORT_FLAGS: Record<keyof StackPorts, { flag: string; env: string }> = {
  router: { flag: 'router-port', env: 'KPIS_ROUTER_PORT' },
  etl: { flag: 'etl-port', env: 'KPIS_ETL_PORT' },
  'kpi-monitor': { flag: 'kpi-monitor-port', env: 'KPIS_KPI_MONITOR_PORT' },
  'log-monitor': { flag: 'log-monitor-port', env: 'KPIS_LOG_MONITOR_PORT' },
};

function portsFrom(values: Values, env: NodeJS.ProcessEnv): StackPorts {
  const ports = { ...DEFAULT_PORTS };
  for (const [name, { flag, env: variable }] of Object.entries(PORT_FLAGS) as [keyof StackPorts, { flag: string; env: string }][]) {
    const raw = (values[flag] as string | undefined) ?? (env[variable] || undefined);
    if (raw === undefined) continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--${flag} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
    ports[name] = port;
  }
  return ports;
}

const serve: Command = {
  summary: 'serve the three functions and the local push router until stopped (Ctrl-C)',
  usage: 'kpis serve [--router-port N] [--etl-port N] [--kpi-monitor-port N] [--log-monitor-port N]',
  details: `What \`npm run serve\` runs. The router (default port ${DEFAULT_PORTS.router}) takes Pub/Sub REST publish calls,
appends each message to .data/topics/<topic>.jsonl and POSTs it as a Pub/Sub CloudEvent to the
functions subscribed to its topic: etl (${DEFAULT_PORTS.etl}) on ${TOPICS.trigger}, kpi-monitor (${DEFAULT_PORTS['kpi-monitor']}) on
${TOPICS.completed}, log-monitor (${DEFAULT_PORTS['log-monitor']}) on ${TOPICS.completed} and ${TOPICS.heartbeat}.
With PUBSUB_EMULATOR_HOST set, the functions publish to the emulator instead and no router runs.
Ports also come from KPIS_ROUTER_PORT, KPIS_ETL_PORT, KPIS_KPI_MONITOR_PORT, KPIS_LOG_MONITOR_PORT.`,
  options: {
    'router-port': { type: 'string' },
    'etl-port': { type: 'string' },
    'kpi-monitor-port': { type: 'string' },
    'log-monitor-port': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const env = functionEnv(values, io);
    const ports = portsFrom(values, env);
    const clock = clockFromEnv(env);
    const logger = createCliLogger(io, true);
    const useEmulator = Boolean(env.PUBSUB_EMULATOR_HOST);
    const stack = await startLocalStack({ ports, env, clock, logger, useEmulator });
    const lines = [
      'daily-kpis functions are up:',
      ...Object.entries(stack.urls).map(([name, url]) => `  ${name.padEnd(12)} ${url}`),
      stack.routerUrl
        ? `  ${'router'.padEnd(12)} ${stack.routerUrl}  (messages also go to .data/topics/<topic>.jsonl)`
        : `  publishing to the Pub/Sub emulator at ${io.env.PUBSUB_EMULATOR_HOST}; create push subscriptions to the URLs above (README)`,
      '',
      'Trigger a run:',
      `  npx kpis publish ${TOPICS.trigger} '{"days_back":1}'`,
      'Stop with Ctrl-C.',
      '',
    ];
    io.stdout(lines.join('\n'));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    io.stdout('Stopping: waiting for running deliveries.\n');
    await stack.close();
    return 0;
  },
};

const publish: Command = {
  summary: 'publish a message to a topic: the local twin of `gcloud pubsub topics publish`',
  usage: "kpis publish TOPIC 'MESSAGE' [--attribute KEY=VALUE ...] [--project PROJECT_ID] [--router URL] [--json]",
  details: `Sends MESSAGE (usually JSON) to TOPIC on the local router of \`npm run serve\` (default
${DEFAULT_ROUTER_URL}, or $KPIS_ROUTER_URL), or to Pub/Sub in PROJECT_ID with --project.
  --attribute K=V    a message attribute; repeat for more
  --project P        publish to Google Cloud Pub/Sub (Application Default Credentials)
  --router URL       another local router
Examples:
  npx kpis publish ${TOPICS.trigger} '{"days_back":1}'
  npx kpis publish ${TOPICS.trigger} '{"start_date":"2026-11-01","end_date":"2026-11-20"}'
  npx kpis publish ${TOPICS.heartbeat} '{}'`,
  options: { attribute: { type: 'string', multiple: true }, project: { type: 'string' }, router: { type: 'string' } },
  positionals: { min: 2, max: 2, name: "TOPIC and 'MESSAGE'" },
  async run(values, positionals, io) {
    const [topic, message] = positionals as [string, string];
    if (!/^[A-Za-z][\w.~+%-]{2,254}$/.test(topic)) throw new UsageError(`TOPIC must be a Pub/Sub topic name such as ${TOPICS.trigger}, got ${JSON.stringify(topic)}`);
    const attributes: Attributes = {};
    for (const pair of (values.attribute as unknown as string[] | undefined) ?? []) {
      const equals = pair.indexOf('=');
      if (equals < 1) throw new UsageError(`--attribute must be KEY=VALUE, got ${JSON.stringify(pair)}`);
      attributes[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
    try {
      JSON.parse(message);
    } catch {
      io.stderr(`kpis publish: warning: the message is not valid JSON; the functions will reject it\n`);
    }
    const project = values.project as string | undefined;
    let publisher: Publisher;
    if (project) {
      const [{ PubSub }, { PubSubPublisher }] = await Promise.all([import('@google-cloud/pubsub'), import('../shared/messaging/pubsub')]);
      publisher = new PubSubPublisher(new PubSub({ projectId: project }));
    } else publisher = new RouterPublisher((values.router as string | undefined) ?? (io.env.KPIS_ROUTER_URL || DEFAULT_ROUTER_URL));
    try {
      const messageId = await publisher.publishRaw(topic, Buffer.from(message, 'utf8'), attributes);
      const where = project ? `Pub/Sub in ${project}` : `the local router ${(publisher as RouterPublisher).url}`;
      if (values.json) printJson(io, { message_id: messageId, topic, to: project ? `pubsub:${project}` : (publisher as RouterPublisher).url });
      else io.stdout(`Published message ${messageId} to ${topic} on ${where}.\n`);
      return 0;
    } finally {
      await publisher.close();
    }
  },
};

export const LOCAL_COMMANDS = { start, serve, publish };
