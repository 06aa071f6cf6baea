/**
 * What the three Cloud Functions share, built once per instance from explicit arguments: the
 * settings (parsed from the environment here, once: shared/settings.ts), the clock and the
 * logger they describe, the ports
 * (shared/ports.ts, opened at the first event) and the configs (loaded when first asked for).
 * Nothing is global: the entry points pass a runtime to registerFunctions (functions/register.ts),
 * and pubsubHandler (./pubsub-handler.ts) runs each delivery on it under the failure policy.
 */
import { clockFrom } from '../clock';
import type { EtlJob } from '../config/etl-config';
import type { KpiCheck } from '../config/kpi-checks';
import type { LogCheck } from '../config/log-checks';
import { createLogger, type Logger } from '../log';
import type { Ports } from '../ports';
import { parseSettings, type PublisherSpec, type Settings } from '../settings';
import { Deliveries, InFlight } from './in-flight';

export const FUNCTION_NAMES = ['etl', 'kpi-monitor', 'log-monitor'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * What a runtime is built from: the environment (its settings are parsed from it, once, here,
 * unless `settings` gives them already parsed, as `kpis serve` does from its flags; its secrets
 * are read from it by name), and optionally the ports, clock and logger to use instead of the ones
 * the settings describe (the local stack and the tests pass theirs), or only where the functions
 * publish (the local stack's router or emulator).
 */
export interface RuntimeOptions {
  env: NodeJS.ProcessEnv;
  settings?: Settings;
  clock?: () => Date;
  logger?: Logger;
  openPorts?: () => Promise<Ports>;
  /** Where the functions publish, instead of what $KPIS_PUBLISHER says. */
  publisher?: PublisherSpec;
}

/**
 * The configs, each loaded when a function first asks for it: the etl function never reads the
 * checks, so a broken kpis_config.json does not stop it. Cached once loaded.
 */
export interface FunctionConfigs {
  etlJob(): Promise<EtlJob>;
  kpiChecks(): Promise<KpiCheck[]>;
  logChecks(): Promise<LogCheck[]>;
}

/** What a handler's work receives: the ports flattened, the configs, and this message's run id. */
export type FunctionContext = Omit<Ports, 'close' | 'spec'> &
  FunctionConfigs & {
    settings: Settings;
    clock: () => Date;
    logger: Logger;
    runId: string;
    username: string;
  };

export interface FunctionRuntime {
  settings: Settings;
  clock: () => Date;
  logger: Logger;
  configs: FunctionConfigs;
  /** The ports, opened on the first call (the first event) and kept for the next ones. */
  ports(): Promise<Ports>;
  /** Messages running in this instance: a duplicate waits for the first. */
  inFlight: InFlight;
  /** Every delivery being handled, from its first line to its answer (pubsubHandler adds them). */
  deliveries: Deliveries;
  /** Resolves once no delivery is being handled. */
  idle(): Promise<void>;
  /** Closes the ports once the deliveries being handled have ended. */
  close(): Promise<void>;
}

/** Builds a runtime from explicit arguments; nothing is opened or loaded until an event needs it. */
export function createFunctionRuntime(options: RuntimeOptions): FunctionRuntime {
  const { env } = options;
  const settings = options.settings ?? parseSettings({}, env);
  const logger = options.logger ?? createLogger({ level: settings.logLevel ?? 'INFO' });
  const clock = options.clock ?? clockFrom(settings.now);
  // Loaded on first use: the client libraries, joi and the configs cost a cold start nothing.
  const openPorts =
    options.openPorts ??
    (async () => (await import('../ports')).openPorts({ settings, env, logger, clock, publisher: options.publisher }));
  const ports = memoized(openPorts);
  const deliveries = new Deliveries();
  return {
    settings,
    clock,
    logger,
    configs: lazyConfigs(settings),
    ports: () => ports.get(),
    inFlight: new InFlight(),
    deliveries,
    idle: () => deliveries.idle(),
    async close() {
      // A delivery still running uses the ports: closed under it, it fails (DuckDB crashed the process).
      await deliveries.idle();
      const current = ports.forget();
      if (current) await (await current.catch(() => null))?.close();
    },
  };
}

/** The three configs from the files the settings name, each loaded (with its module) on first use. */
function lazyConfigs(settings: Settings): FunctionConfigs {
  const etlJob = once(
    namingFiles(settings, async () => (await import('../config/etl-config')).loadEtlConfig(settings.etlConfig)),
  );
  return {
    etlJob,
    kpiChecks: once(
      namingFiles(settings, async () =>
        (await import('../config/calendar')).loadMonitorChecks(settings.kpisConfig, settings.calendar),
      ),
    ),
    logChecks: once(
      namingFiles(settings, async () => {
        const job = await etlJob();
        const { etlDataset } = await import('../config/etl-config');
        return (await import('../config/log-checks')).loadLogChecks(settings.logConfig, job.jobName, etlDataset(job));
      }),
    ),
  };
}

/** `load`, whose unreadable config file is said with the variable that named it (as the CLI says it). */
function namingFiles<T>(settings: Settings, load: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      return await load();
    } catch (error) {
      throw (await import('../config/validate')).withSettingSource(settings, error);
    }
  };
}

/** `load`, run on the first call and kept (see memoized). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  const memo = memoized(load);
  return () => memo.get();
}

/**
 * A load run once and kept: `get` starts it on the first call and returns the same promise after;
 * a failed load is forgotten, so the next event tries again. `forget` drops it and returns it.
 */
function memoized<T>(load: () => Promise<T>): { get(): Promise<T>; forget(): Promise<T> | undefined } {
  let loaded: Promise<T> | undefined;
  return {
    get() {
      loaded ??= load().catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
    forget() {
      const current = loaded;
      loaded = undefined;
      return current;
    },
  };
}

/** A run id from the message id: a redelivery carries the same one, and the run log shows it. */
export function runIdFor(functionName: FunctionName, messageId: string): string {
  return `${functionName}-${messageId}`;
}
