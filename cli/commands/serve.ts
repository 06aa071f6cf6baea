/** `kpis serve`. */
import { LocalResourceError, UsageError } from '../../shared/errors';
import { TOPICS } from '../../shared/messaging/publisher';
import { DEFAULT_PORTS, type Settings } from '../../shared/settings';
import {
  EMULATOR_PULL_SUBSCRIPTIONS,
  PUBSUB_KINDS,
  startLocalStack,
  type LocalStack,
  type PubSubKind,
  type StackPorts,
} from '../../functions/local';
import { type Command, type Values } from '../command';
import { cliSettings, createCliLogger } from '../context';
import { clockFrom } from '../../shared/clock';

function portsFrom(settings: Settings): StackPorts {
  return {
    router: settings.routerPort,
    etl: settings.etlPort,
    'kpi-monitor': settings.kpiMonitorPort,
    'log-monitor': settings.logMonitorPort,
  };
}

/** `--pubsub router|emulator`; without it, an emulator the user runs (at `emulatorHost`, PUBSUB_EMULATOR_HOST) or the router. */
export function pubsubFrom(values: Values, emulatorHost: string | undefined): PubSubKind {
  const raw = values.pubsub as string | undefined;
  if (raw === undefined) return emulatorHost ? 'running-emulator' : 'router';
  const allowed: readonly string[] = PUBSUB_KINDS.filter((kind) => kind !== 'running-emulator');
  if (!allowed.includes(raw))
    throw new UsageError(`--pubsub must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as PubSubKind;
}

function brokerLines(stack: LocalStack, settings: Settings): string[] {
  const emulatorHost = settings.pubsubEmulatorHost;
  if (stack.routerUrl)
    return [`  ${'router'.padEnd(12)} ${stack.routerUrl}  (messages also go to ${settings.topicsDir}/<topic>.jsonl)`];
  if (stack.emulator) {
    const { emulator } = stack;
    return [
      `  ${'emulator'.padEnd(12)} Google's Pub/Sub emulator at ${emulator.host}, project ${emulator.project} (listening after ${(emulator.startedInMs / 1000).toFixed(1)} s; log ${emulator.logFile})`,
      `  ${''.padEnd(12)} push subscriptions to the functions above; alerts kept in the pull subscription ${EMULATOR_PULL_SUBSCRIPTIONS.alerts}`,
    ];
  }
  return [
    `  publishing to the Pub/Sub emulator at ${emulatorHost}; create push subscriptions to the URLs above (README)`,
  ];
}

/** Commands that reach this stack's broker: `--router` unless this router is where kpis publish goes by default (KPIS_ROUTER_URL, else port 8080). */
function triggerLines(stack: LocalStack, settings: Settings): string[] {
  const router =
    stack.routerUrl === undefined || stack.routerUrl === settings.routerUrl ? '' : ` --router ${stack.routerUrl}`;
  if (!stack.emulator) return [`  npx kpis publish ${TOPICS.trigger} '{"days_back":1}'${router}`];
  const { host, project } = stack.emulator;
  return [
    `  PUBSUB_EMULATOR_HOST=${host} npx kpis publish ${TOPICS.trigger} '{"days_back":1}' --project ${project}`,
    `  curl -X POST http://${host}/v1/projects/${project}/topics/${TOPICS.trigger}:publish \\`,
    `    -H 'content-type: application/json' -d '{"messages":[{"data":"${Buffer.from('{"days_back":1}').toString('base64')}"}]}'`,
  ];
}

/** A listen that failed on a port in use, as one line naming the flag that sets it; null for any other error. */
function portInUse(error: unknown, ports: StackPorts): LocalResourceError | null {
  const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (code !== 'EADDRINUSE') return null;
  const name = (Object.keys(ports) as (keyof StackPorts)[]).find((key) => ports[key] === port);
  const flag = name === undefined ? 'its flag' : `--${name}-port`;
  return new LocalResourceError(`port ${address}:${port} is in use: stop what holds it or pick another with ${flag}`, {
    cause: error,
  });
}

export const serveCommand: Command = {
  summary:
    "serve the three functions and a local Pub/Sub (the push router, or Google's emulator) until stopped (Ctrl-C)",
  usage:
    'kpis serve [--pubsub router|emulator] [--router-port N] [--etl-port N] [--kpi-monitor-port N] [--log-monitor-port N]',
  details: `What \`npm run serve\` runs. The router (default port ${DEFAULT_PORTS.router}) takes Pub/Sub REST publish calls,
appends each message to .data/topics/<topic>.jsonl (or $KPIS_TOPICS_DIR) and pushes it, as Pub/Sub and its emulator do, to
the functions subscribed to its topic: etl (${DEFAULT_PORTS.etl}) on ${TOPICS.trigger}, kpi-monitor (${DEFAULT_PORTS['kpi-monitor']}) on
${TOPICS.completed}, log-monitor (${DEFAULT_PORTS['log-monitor']}) on ${TOPICS.completed} and ${TOPICS.heartbeat}.
With --pubsub emulator, Google's Pub/Sub emulator (\`gcloud beta emulators pubsub start\`, packages
google-cloud-cli and google-cloud-cli-pubsub-emulator) runs instead of the router, on a free port,
with deploy.sh's topics and push subscriptions; the functions publish to it through the real client.
It is stopped with the functions. With PUBSUB_EMULATOR_HOST set and no --pubsub, the functions
publish to that emulator and its subscriptions are yours to create.
Ports also come from KPIS_ROUTER_PORT, KPIS_ETL_PORT, KPIS_KPI_MONITOR_PORT, KPIS_LOG_MONITOR_PORT.`,
  options: {
    pubsub: { type: 'string' },
    'router-port': { type: 'string' },
    'etl-port': { type: 'string' },
    'kpi-monitor-port': { type: 'string' },
    'log-monitor-port': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const settings = cliSettings(values, io);
    const clock = clockFrom(settings.now);
    const logger = createCliLogger(io, settings, true);
    const pubsub = pubsubFrom(values, settings.pubsubEmulatorHost);
    // Listening before the start: a Ctrl-C while the emulator starts must still stop it (it runs in
    // its own process group, which the terminal's signal does not reach).
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    if (pubsub === 'emulator') io.stdout('Starting the Pub/Sub emulator (a few seconds)...\n');
    const ports = portsFrom(settings);
    const stack = await startLocalStack({ ports, settings, env: io.env, clock, logger, pubsub }).catch(
      (error: unknown) => {
        throw portInUse(error, ports) ?? error;
      },
    );
    const lines = [
      'daily-kpis functions are up:',
      ...Object.entries(stack.urls).map(([name, url]) => `  ${name.padEnd(12)} ${url}`),
      ...brokerLines(stack, settings),
      '',
      'Trigger a run:',
      ...triggerLines(stack, settings),
      'Stop with Ctrl-C.',
      '',
    ];
    io.stdout(lines.join('\n'));
    await stopped;
    io.stdout('Stopping: waiting for running deliveries.\n');
    await stack.close();
    return 0;
  },
};
