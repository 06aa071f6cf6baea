/** `kpis publish`. */
import { TopicNotFoundError, UsageError } from '../../shared/errors';
import { LOCAL_TOPICS } from '../../shared/local/router';
import { isReservedName, RESERVED_NAMES } from '../../shared/config/names';
import { TOPICS, type Attributes, type Publisher } from '../../shared/messaging/publisher';
import { DEFAULT_ROUTER_URL, RouterPublisher } from '../../shared/messaging/router-publisher';
import { openPublisher } from '../../shared/ports';
import { printJson, type Command } from '../command';
import { cliSettings } from '../context';

export const publishCommand: Command = {
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
    if (!/^[A-Za-z][\w.~+%-]{2,254}$/.test(topic))
      throw new UsageError(
        `TOPIC must be a Pub/Sub topic name such as ${TOPICS.trigger}, got ${JSON.stringify(topic)}`,
      );
    const attributes = attributesFrom((values.attribute as unknown as string[] | undefined) ?? []);
    try {
      JSON.parse(message);
    } catch {
      io.stderr(`kpis publish: warning: the message is not valid JSON; the functions will reject it\n`);
    }
    const settings = cliSettings(values, io);
    const project = values.project as string | undefined;
    // Pub/Sub (or the emulator at PUBSUB_EMULATOR_HOST) through the one place that builds clients.
    const publisher: Publisher = project
      ? await openPublisher({ kind: 'pubsub', projectId: project }, () => new Date(), settings.pubsubEmulatorHost)
      : new RouterPublisher(settings.routerUrl, '--router or KPIS_ROUTER_URL');
    try {
      const messageId = await publisher
        .publishRaw(topic, Buffer.from(message, 'utf8'), attributes)
        .catch((error: unknown) => {
          // A typo in TOPIC: say which topics there are, as a usage error.
          throw error instanceof TopicNotFoundError && !project
            ? new UsageError(`${error.message}; its topics: ${LOCAL_TOPICS.join(', ')}`)
            : error;
        });
      const where = project ? `Pub/Sub in ${project}` : `the local router ${(publisher as RouterPublisher).url}`;
      if (values.json)
        printJson(io, {
          message_id: messageId,
          topic,
          to: project ? `pubsub:${project}` : (publisher as RouterPublisher).url,
        });
      else io.stdout(`Published message ${messageId} to ${topic} on ${where}.\n`);
      return 0;
    } finally {
      await publisher.close();
    }
  },
};

/** --attribute KEY=VALUE flags as message attributes; reserved names are refused. */
function attributesFrom(pairs: string[]): Attributes {
  const attributes: Attributes = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw new UsageError(`--attribute must be KEY=VALUE, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, equals);
    if (isReservedName(key))
      throw new UsageError(
        `--attribute ${JSON.stringify(key)}: ${RESERVED_NAMES.join(', ')} are reserved names, rename it`,
      );
    attributes[key] = pair.slice(equals + 1);
  }
  return attributes;
}
