/**
 * The one place that builds the real ports from the settings (shared/settings.ts): the warehouse,
 * the publisher and the Slack webhook's source. Use-cases receive them as arguments; nothing else
 * constructs a client. Each client library is loaded on first use only.
 *
 * - publisher: `local` (`<topicsDir>/<topic>.jsonl`), the local push router, or Pub/Sub (the
 *   emulator at PUBSUB_EMULATOR_HOST when it is set);
 * - secrets: environment variables (default) or Secret Manager;
 * - Slack: the default channel's webhook is the secret named slackSecret (with secrets from the
 *   environment, KPIS_SLACK_WEBHOOK_URL); the KPI config's slack_webhooks names the others, each a
 *   secret, or with secrets from the environment a variable. No URL: Slack is off.
 */
import type { Logger } from './log';
import { LocalTopicPublisher, type Publisher } from './messaging/publisher';
import { RouterPublisher } from './messaging/router-publisher';
import type { SlackWebhookRef } from './config/kpi-checks';
import { EnvSecrets, type Secrets } from './secrets/secrets';
import type { PublisherSpec, Settings } from './settings';
import { openWarehouse, type WarehouseSpec } from './warehouse/factory';
import type { Warehouse } from './warehouse/warehouse';

/** kpi-checks' DEFAULT_CHANNEL, not imported: the etl function loads the ports, never the checks' config. */
const DEFAULT_CHANNEL = 'default';

export interface Ports {
  warehouse: Warehouse;
  spec: WarehouseSpec;
  publisher: Publisher;
  /** A channel's webhook URL (the default channel's when none is named), or null when it is off. */
  slackWebhook: (channel?: string) => Promise<string | null>;
  /** The channels besides the default one (slack_webhooks). */
  slackChannels?: () => Promise<string[]>;
  close(): Promise<void>;
}

export async function openPorts(options: {
  settings: Settings;
  /** Where secrets named by a variable are read (KPIS_SECRETS=env): the slack_webhooks' variables are named in a config file, so they cannot be declared settings. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  clock: () => Date;
  /** The named Slack webhooks; by default the KPI config's slack_webhooks, read on first use. */
  slackWebhooks?: () => Promise<Map<string, SlackWebhookRef>>;
  /** Where to publish, instead of the settings' publisher (the local stack's router or emulator). */
  publisher?: PublisherSpec;
}): Promise<Ports> {
  const { settings, logger } = options;
  const publisherSpec = options.publisher ?? settings.publisher;
  const publisher = await openPublisher(publisherSpec, options.clock, emulatorHostOf(publisherSpec, settings));
  const warehouse = await openWarehouse(settings.warehouse, logger, settings);
  let named: Promise<Map<string, SlackWebhookRef>> | undefined;
  const namedWebhooks = () =>
    (named ??= (options.slackWebhooks ?? (() => configuredWebhooks(settings.kpisConfig, logger)))());
  let secrets: Promise<Secrets> | undefined;
  return {
    warehouse,
    spec: settings.warehouse,
    publisher,
    // Built on first use: the etl function never posts to Slack, and need not load the client. A
    // setup that failed is forgotten, so the next run builds the client again.
    slackWebhook: async (channel = DEFAULT_CHANNEL) => {
      const webhooks = await namedWebhooks();
      const ref = webhooks.get(channel);
      // A channel the config does not name has no webhook: off.
      if (channel !== DEFAULT_CHANNEL && ref === undefined) return null;
      secrets ??= openSecrets(settings, options.env, [...webhooks.values()]).catch((error: unknown) => {
        secrets = undefined;
        throw error;
      });
      return (await secrets).get(ref?.secret ?? settings.slackSecret);
    },
    slackChannels: async () => [...(await namedWebhooks()).keys()],
    async close() {
      await Promise.allSettled([warehouse.close(), publisher.close()]);
    },
  };
}

function emulatorHostOf(spec: PublisherSpec, settings: Settings): string | undefined {
  return (spec.kind === 'pubsub' ? spec.emulatorHost : undefined) || settings.pubsubEmulatorHost;
}

/**
 * `emulatorHost` comes from the settings the ports are built from: the client reads only
 * process.env's PUBSUB_EMULATOR_HOST by itself, and the local stack leaves process.env alone.
 */
export async function openPublisher(spec: PublisherSpec, clock: () => Date, emulatorHost?: string): Promise<Publisher> {
  if (spec.kind === 'local') return new LocalTopicPublisher(spec.dir, clock);
  if (spec.kind === 'router') return new RouterPublisher(spec.url);
  const [{ PubSub }, { PubSubPublisher }] = await Promise.all([
    import('@google-cloud/pubsub'),
    import('./messaging/pubsub'),
  ]);
  return new PubSubPublisher(
    new PubSub({ projectId: spec.projectId, ...(emulatorHost ? emulatorOptions(emulatorHost) : {}) }),
  );
}

/**
 * The emulator takes no credentials. Naming the universe keeps the client from looking for them
 * anyway, on a GCE metadata server that is not there (a MetadataLookupWarning on every start).
 */
function emulatorOptions(host: string) {
  return { apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' };
}

/** The KPI config's slack_webhooks; a config that cannot be read leaves the default channel only (the monitor that loads it says why). */
async function configuredWebhooks(file: string, logger: Logger): Promise<Map<string, SlackWebhookRef>> {
  try {
    const { loadSlackWebhooks } = await import('./config/kpi-checks');
    return loadSlackWebhooks(file);
  } catch (error) {
    logger.error('cannot read slack_webhooks from the KPI config: only the default Slack channel posts', {
      error: (error as Error).message,
    });
    return new Map();
  }
}

/**
 * Secrets from Secret Manager, or locally from variables of `env`: the default webhook's, and each
 * named webhook's own (read by name when asked for, as Secret Manager is).
 */
export async function openSecrets(
  settings: Pick<Settings, 'secrets' | 'slackSecret'>,
  env: NodeJS.ProcessEnv,
  webhooks: SlackWebhookRef[] = [],
): Promise<Secrets> {
  const spec = settings.secrets;
  if (spec.kind === 'env') {
    return new EnvSecrets(env, {
      ...Object.fromEntries(webhooks.map((ref) => [ref.secret, ref.env])),
      [settings.slackSecret]: 'KPIS_SLACK_WEBHOOK_URL',
    });
  }
  const { projectId } = spec;
  const [{ SecretManagerServiceClient }, { SecretManagerSecrets }] = await Promise.all([
    import('@google-cloud/secret-manager'),
    import('./secrets/secret-manager'),
  ]);
  return new SecretManagerSecrets(new SecretManagerServiceClient(), projectId);
}
