/** `kpis serve`. */
import { UsageError } from '../../shared/errors';
import { TOPICS } from '../../shared/messaging/publisher';
import { DEFAULT_PORTS, startLocalStack, type StackPorts } from '../../functions/local';
import { type Command, type Values } from '../command';
import { createCliLogger } from '../context';
import { clockFromEnv } from '../../shared/clock';
import { functionEnv } from '../context';

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

export const serveCommand: Command = {
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
