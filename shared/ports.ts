/**
 * The one place that builds the real ports from flags and the environment: the warehouse, the
 * publisher and the Slack webhook's source. Use-cases receive them as arguments; nothing else
 * constructs a client. Each client library is loaded on first use only.
 *
 * Environment:
 * - KPIS_PUBLISHER: `local` (default: `.data/topics/<topic>.jsonl`, folder $KPIS_TOPICS_DIR),
 *   `router:URL` (the local push router of `npm run serve`) or `pubsub:PROJECT_ID`. With
 *   PUBSUB_EMULATOR_HOST set and no KPIS_PUBLISHER, messages go to the emulator (project
 *   $PUBSUB_PROJECT_ID, default local-project).
 * - KPIS_SECRETS: `env` (default) or `secret-manager:PROJECT_ID`.
 * - KPIS_SLACK_SECRET: the Slack webhook's secret name (default daily-kpis-slack-webhook); with
 *   KPIS_SECRETS=env the URL is read from KPIS_SLACK_WEBHOOK_URL instead. No URL: Slack is off.
 *   That is the default channel; the KPI config's slack_webhooks (file $KPIS_MONITOR_CONFIG) names
 *   the others, each a secret, or with KPIS_SECRETS=env a variable.
 */
import { UsageError } from './errors';
import type { Logger } from './log';
import { DEFAULT_TOPICS_DIR, LocalTopicPublisher, type Publisher } from './messaging/publisher';
import { RouterPublisher } from './messaging/router-publisher';
import type { SlackWebhookRef } from './config/kpi-checks';
import { EnvSecrets, type Secrets } from './secrets/secrets';
import { openWarehouse, resolveWarehouseSpec, type WarehouseSpec } from './warehouse/factory';
import type { Warehouse } from './warehouse/warehouse';

export const DEFAULT_SLACK_SECRET = 'daily-kpis-slack-webhook';
/** kpi-checks' DEFAULT_CHANNEL, not imported: the etl function loads the ports, never the checks' config. */
const DEFAULT_CHANNEL = 'default';
const PROJECT_ID = /^[a-z][a-z0-9.:-]{4,}$/;

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
  warehouse?: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  clock: () => Date;
  /** The named Slack webhooks; by default the KPI config's slack_webhooks, read on first use. */
  slackWebhooks?: () => Promise<Map<string, SlackWebhookRef>>;
  /** Where to publish, instead of what $KPIS_PUBLISHER says (the local stack's router or emulator). */
  publisher?: PublisherSpec;
}): Promise<Ports> {
  const { env, logger } = options;
  // Parse every setting before opening anything, so a typo fails fast and leaves nothing open.
  const spec = resolveWarehouseSpec(options.warehouse, env);
  const publisherSpec = options.publisher ?? parsePublisherSpec(env);
  parseSecretsSpec(env);
  const publisher = await openPublisher(publisherSpec, options.clock, emulatorHostOf(publisherSpec, env));
  const warehouse = await openWarehouse(spec, logger, env);
  const slackSecret = env.KPIS_SLACK_SECRET || DEFAULT_SLACK_SECRET;
  let named: Promise<Map<string, SlackWebhookRef>> | undefined;
  const namedWebhooks = () => (named ??= (options.slackWebhooks ?? (() => configuredWebhooks(env, logger)))());
  let secrets: Promise<Secrets> | undefined;
  return {
    warehouse,
    spec,
    publisher,
    // Built on first use: the etl function never posts to Slack, and need not load the client. A
    // setup that failed is forgotten, so the next run builds the client again.
    slackWebhook: async (channel = DEFAULT_CHANNEL) => {
      const webhooks = await namedWebhooks();
      const ref = webhooks.get(channel);
      // A channel the config does not name has no webhook: off.
      if (channel !== DEFAULT_CHANNEL && ref === undefined) return null;
      secrets ??= openSecrets(env, [...webhooks.values()]).catch((error: unknown) => {
        secrets = undefined;
        throw error;
      });
      return (await secrets).get(ref?.secret ?? slackSecret);
    },
    slackChannels: async () => [...(await namedWebhooks()).keys()],
    async close() {
      await Promise.allSettled([warehouse.close(), publisher.close()]);
    },
  };
}

/** Where messages go; a `pubsub` spec may name the emulator it reaches (else $PUBSUB_EMULATOR_HOST does). */
type PublisherSpec = { kind: 'local'; dir: string } | { kind: 'router'; url: string } | { kind: 'pubsub'; projectId: string; emulatorHost?: string };

export type { PublisherSpec };

function emulatorHostOf(spec: PublisherSpec, env: NodeJS.ProcessEnv): string | undefined {
  return (spec.kind === 'pubsub' ? spec.emulatorHost : undefined) || env.PUBSUB_EMULATOR_HOST || undefined;
}

export function parsePublisherSpec(env: NodeJS.ProcessEnv): PublisherSpec {
  const value = env.KPIS_PUBLISHER || (env.PUBSUB_EMULATOR_HOST ? `pubsub:${env.PUBSUB_PROJECT_ID || 'local-project'}` : 'local');
  if (value === 'local') return { kind: 'local', dir: env.KPIS_TOPICS_DIR || DEFAULT_TOPICS_DIR };
  if (value.startsWith('router:') && /^https?:\/\/[^/]+$/.test(value.slice('router:'.length))) return { kind: 'router', url: value.slice('router:'.length) };
  const projectId = value.startsWith('pubsub:') ? value.slice('pubsub:'.length) : '';
  if (PROJECT_ID.test(projectId)) return { kind: 'pubsub', projectId };
  throw new UsageError(`KPIS_PUBLISHER must be local, router:http://HOST:PORT or pubsub:PROJECT_ID, got ${JSON.stringify(value)}`);
}

/**
 * `emulatorHost` comes from the environment the ports are built from: the client reads only
 * process.env's PUBSUB_EMULATOR_HOST by itself, and the local stack leaves process.env alone.
 */
export async function openPublisher(spec: PublisherSpec, clock: () => Date, emulatorHost?: string): Promise<Publisher> {
  if (spec.kind === 'local') return new LocalTopicPublisher(spec.dir, clock);
  if (spec.kind === 'router') return new RouterPublisher(spec.url);
  const [{ PubSub }, { PubSubPublisher }] = await Promise.all([import('@google-cloud/pubsub'), import('./messaging/pubsub')]);
  return new PubSubPublisher(new PubSub({ projectId: spec.projectId, ...(emulatorHost ? emulatorOptions(emulatorHost) : {}) }));
}

/**
 * The emulator takes no credentials. Naming the universe keeps the client from looking for them
 * anyway, on a GCE metadata server that is not there (a MetadataLookupWarning on every start).
 */
function emulatorOptions(host: string) {
  return { apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' };
}

type SecretsSpec = { kind: 'env' } | { kind: 'secret-manager'; projectId: string };

export function parseSecretsSpec(env: NodeJS.ProcessEnv): SecretsSpec {
  const value = env.KPIS_SECRETS || 'env';
  if (value === 'env') return { kind: 'env' };
  const projectId = value.startsWith('secret-manager:') ? value.slice('secret-manager:'.length) : '';
  if (!PROJECT_ID.test(projectId)) throw new UsageError(`KPIS_SECRETS must be env or secret-manager:PROJECT_ID, got ${JSON.stringify(value)}`);
  return { kind: 'secret-manager', projectId };
}

/** The KPI config's slack_webhooks; a config that cannot be read leaves the default channel only (the monitor that loads it says why). */
async function configuredWebhooks(env: NodeJS.ProcessEnv, logger: Logger): Promise<Map<string, SlackWebhookRef>> {
  try {
    const [{ configPath }, { loadSlackWebhooks }] = await Promise.all([import('./config/files'), import('./config/kpi-checks')]);
    return loadSlackWebhooks(configPath('kpis', env));
  } catch (error) {
    logger.error('cannot read slack_webhooks from the KPI config: only the default Slack channel posts', { error: (error as Error).message });
    return new Map();
  }
}

/** Secrets from Secret Manager, or locally from variables: the default webhook's, and each named webhook's own. */
export async function openSecrets(env: NodeJS.ProcessEnv, webhooks: SlackWebhookRef[] = []): Promise<Secrets> {
  const spec = parseSecretsSpec(env);
  if (spec.kind === 'env') {
    return new EnvSecrets(env, { ...Object.fromEntries(webhooks.map((ref) => [ref.secret, ref.env])), [env.KPIS_SLACK_SECRET || DEFAULT_SLACK_SECRET]: 'KPIS_SLACK_WEBHOOK_URL' });
  }
  const { projectId } = spec;
  const [{ SecretManagerServiceClient }, { SecretManagerSecrets }] = await Promise.all([import('@google-cloud/secret-manager'), import('./secrets/secret-manager')]);
  return new SecretManagerSecrets(new SecretManagerServiceClient(), projectId);
}
