/**
 * The three functions on local ports, with the push router between them: what `npm run serve`
 * and `npm start` run. All of it lives in one process, so the three functions share one DuckDB
 * warehouse (a DuckDB file takes one writing process at a time).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Logger } from '../shared/log';
import { DEFAULT_TOPICS_DIR } from '../shared/messaging/publisher';
import { closeFunctionRuntime, createFunctionRuntime, installFunctionRuntime, type FunctionName } from '../shared/pipeline/function-runtime';
import { LocalRouter, localSubscriptions } from '../shared/local/router';
import { TARGETS } from './index';

export interface StackPorts {
  router: number;
  etl: number;
  'kpi-monitor': number;
  'log-monitor': number;
}

export const DEFAULT_PORTS: StackPorts = { router: 8080, etl: 8081, 'kpi-monitor': 8082, 'log-monitor': 8083 };

export interface LocalStack {
  /** Absent when publishing goes to the Pub/Sub emulator instead. */
  router?: LocalRouter;
  routerUrl?: string;
  urls: Record<FunctionName, string>;
  close(): Promise<void>;
}

export interface StackOptions {
  ports: StackPorts;
  env: NodeJS.ProcessEnv;
  clock: () => Date;
  logger: Logger;
  /** Publish to the Pub/Sub emulator (PUBSUB_EMULATOR_HOST) instead of running the router. */
  useEmulator: boolean;
  /** Deliveries per message before the dead-letter file; tests lower it. */
  maxAttempts?: number;
  retryDelayMs?: number;
}

export async function startLocalStack(options: StackOptions): Promise<LocalStack> {
  const { env } = options;
  const servers: Server[] = [];
  const urls = {} as Record<FunctionName, string>;
  try {
    for (const [name, target] of Object.entries(TARGETS) as [FunctionName, string][]) {
      const server = getTestServer(target);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.ports[name], '127.0.0.1', resolve);
      });
      servers.push(server);
      urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  } catch (error) {
    await closeAll(servers);
    throw error;
  }

  let router: LocalRouter | undefined;
  let routerUrl: string | undefined;
  // With the Pub/Sub emulator, the functions publish to it through the real client, and its push
  // subscriptions (README) call the servers above; the router is not needed.
  if (!options.useEmulator) {
    router = new LocalRouter({
      topicsDir: env.KPIS_TOPICS_DIR || DEFAULT_TOPICS_DIR,
      clock: options.clock,
      logger: options.logger.child({ component: 'router' }),
      subscriptions: localSubscriptions(urls),
      maxAttempts: options.maxAttempts,
      retryDelayMs: options.retryDelayMs,
    });
    try {
      routerUrl = await router.listen(options.ports.router);
    } catch (error) {
      await closeAll(servers);
      throw error;
    }
  }
  // The functions' runtime, built from this stack's arguments: they publish through the router,
  // like any other publisher (or to the emulator); process.env is left as it is.
  installFunctionRuntime(createFunctionRuntime({ env: routerUrl ? { ...env, KPIS_PUBLISHER: `router:${routerUrl}` } : env }));

  return {
    router,
    routerUrl,
    urls,
    async close() {
      await router?.idle(60_000).catch(() => undefined);
      await router?.close();
      await closeAll(servers);
      await closeFunctionRuntime();
    },
  };
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
}
