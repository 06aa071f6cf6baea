/**
 * Sends a monitor run's alerts: each one to the alerts topic, and the run's batch to Slack when a
 * webhook is configured (each alert to its check's channel, the default webhook unless the check
 * names another), at least once and deduplicated. monitoring.alerts records each alert per
 * channel: it is claimed there before it is sent and marked delivered after, so a monitor that runs
 * twice for the same day (Pub/Sub delivers at least once) sends nothing twice.
 *
 * Order of failure: a publish that fails gives its claim back and throws, so the caller's retry
 * publishes it. A Slack post that fails is logged and given back; the next run posts it, and the
 * Pub/Sub alerts are already out either way. A claim never marked delivered (a crash after the
 * claim, or a give-back that failed) is taken again by any run once it is CLAIM_TIMEOUT_MS old;
 * a crash between a send and its mark sends that alert twice, which consumers dedupe on alert_id.
 */
import { randomUUID } from 'node:crypto';
import { chunk } from 'lodash';
import { DEFAULT_CHANNEL } from '../config/kpi-checks';
import { toError } from '../errors';
import type { Logger } from '../log';
import { TOPICS, type Publisher } from '../messaging/publisher';
import { ALERTS_TABLE } from '../schema';
import { renderSqlFile, splitStatements } from '../sql';
import type { JobContext, Warehouse } from '../warehouse/warehouse';
import { alertAttributes, deliveryKey, type Alert } from './alert';
import { alertsTableRow, mergeAlertRows } from './alerts-table';
import { postToSlack, redact, slackMessages } from './slack';

export interface AlertDeps {
  warehouse: Warehouse;
  publisher: Publisher;
  /**
   * A channel's Slack webhook URL (the default channel's when none is named), or null when that
   * channel is off; asked once per channel and delivery.
   */
  slackWebhook: (channel?: string) => Promise<string | null>;
  /** The channels besides the default one (slack_webhooks); none when left out. */
  slackChannels?: () => Promise<string[]>;
  clock: () => Date;
  logger: Logger;
  newClaimId?: () => string;
}

export type Channel = 'pubsub' | 'slack';

export interface DeliveryReport {
  /** Alerts published by this run. */
  published: string[];
  /** Alerts raised again that an earlier run had published already. */
  already_published: string[];
  slack: 'off' | 'nothing_to_post' | 'posted' | 'failed';
  /** Alerts in this run's Slack message, older unposted ones included. */
  slack_alerts: string[];
  slack_error?: string;
}

/** What a dry run delivers: nothing, anywhere. */
export const NOT_DELIVERED: DeliveryReport = { published: [], already_published: [], slack: 'off', slack_alerts: [] };

/** Alerts not yet on Slack are posted by any run within this many days of being published. */
export const SLACK_RETRY_DAYS = 7;
/** Alerts per claim statement: keeps the parameter count far below BigQuery's limits. */
const CLAIM_BATCH = 100;
/** A claim not marked delivered after this long belongs to an invocation that died: far above a function's run time. */
export const CLAIM_TIMEOUT_MS = 15 * 60_000;

export async function deliverAlerts(
  deps: AlertDeps,
  alerts: Alert[],
  context: JobContext & { source: string },
): Promise<DeliveryReport> {
  const claimId = (deps.newClaimId ?? randomUUID)();
  if (alerts.length > 0) await ensureAlertsTable(deps.warehouse, context);
  const pubsub = await publishAlerts(deps, alerts, claimId, context);
  // Slack comes after Pub/Sub: a slow or missing secret must not hold the alerts back.
  const slack = await postAlertsToSlack(deps, alerts.length > 0, claimId, context);
  return { ...pubsub, ...slack };
}

/** Each alert not published before to the alerts topic: claimed, published, then marked delivered. */
async function publishAlerts(
  deps: AlertDeps,
  alerts: Alert[],
  claimId: string,
  context: JobContext,
): Promise<Pick<DeliveryReport, 'published' | 'already_published'>> {
  const { publisher, logger } = deps;
  const claimed = await claim(deps, 'pubsub', alerts, claimId, context);
  // Claimed under deliveryKey: a resolved follow-up is sent once, apart from the alert it resolves.
  const toPublish = alerts.filter((alert) => claimed.has(deliveryKey(alert)));
  const report = {
    published: [] as string[],
    already_published: alerts.filter((alert) => !claimed.has(deliveryKey(alert))).map(deliveryKey),
  };
  try {
    for (const alert of toPublish) {
      await publisher.publish(TOPICS.alerts, alert, alertAttributes(alert));
      report.published.push(deliveryKey(alert));
    }
  } catch (error) {
    // Mark what went out, and give back every claim not yet published, so the retry of this run publishes them.
    await markDelivered(
      deps,
      'pubsub',
      toPublish.filter((a) => report.published.includes(deliveryKey(a))),
      claimId,
      context,
    );
    for (const a of toPublish.filter((a) => !report.published.includes(deliveryKey(a))))
      await release(deps, 'pubsub', a, claimId, context);
    throw error;
  }
  await markDelivered(deps, 'pubsub', toPublish, claimId, context);
  if (report.already_published.length > 0)
    logger.info('alerts already published by an earlier run', { alert_ids: report.already_published });
  logger.info('alerts published', { topic: TOPICS.alerts, alert_ids: report.published });
  return report;
}

/**
 * Every published alert Slack has not had (this run's and earlier ones'), each in its channel's
 * messages; a channel whose post fails gives its claims back for the next run, and the others
 * still post. An alert naming a channel the config no longer has, or one whose webhook is not set,
 * goes to the default one.
 */
async function postAlertsToSlack(
  deps: AlertDeps,
  tableEnsured: boolean,
  claimId: string,
  context: JobContext & { source: string },
): Promise<Pick<DeliveryReport, 'slack' | 'slack_alerts' | 'slack_error'>> {
  const { logger } = deps;
  const webhooks = await readWebhooks(deps);
  const unreadable = [...webhooks.values()].filter((webhook): webhook is Error => webhook instanceof Error);
  const on = [...webhooks.entries()].filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  if (on.length === 0)
    return unreadable.length > 0
      ? { slack: 'failed', slack_alerts: [], slack_error: unreadable.map((error) => error.message).join('; ') }
      : { slack: 'off', slack_alerts: [] };
  if (!tableEnsured) await ensureAlertsTable(deps.warehouse, context);
  const pending = await unposted(deps, context);
  // A channel without a webhook yet (its secret has no version) posts to the default one: nothing goes unseen.
  const channelOf = (alert: Alert): string => {
    const named = alert.channel ?? DEFAULT_CHANNEL;
    if (webhooks.get(named) !== null && webhooks.has(named)) return named;
    if (!webhooks.has(named))
      logger.warn('an alert names a Slack channel the config does not have: posted to the default channel', {
        alert_id: alert.alert_id,
        channel: named,
      });
    return DEFAULT_CHANNEL;
  };
  // A Map: channel names come from the config and from stored payloads (a channel named constructor).
  const byChannel = new Map<string, Alert[]>();
  for (const alert of pending) {
    const channel = channelOf(alert);
    byChannel.set(channel, [...(byChannel.get(channel) ?? []), alert]);
  }
  const outcomes: ChannelPost[] = unreadable.map((error) => ({ slack: 'failed', posted: [], error: error.message }));
  for (const [channel, webhook] of on)
    outcomes.push(await postChannel(deps, channel, webhook, byChannel.get(channel) ?? [], claimId, context));
  const posted = outcomes.flatMap((outcome) => outcome.posted);
  const errors = outcomes.flatMap((outcome) => (outcome.error === undefined ? [] : [outcome.error]));
  if (posted.length > 0) logger.info('alerts posted to Slack', { alert_ids: posted });
  const slack = errors.length > 0 ? 'failed' : posted.length > 0 ? 'posted' : 'nothing_to_post';
  return { slack, slack_alerts: posted, ...(errors.length > 0 ? { slack_error: errors.join('; ') } : {}) };
}

interface ChannelPost {
  slack: 'nothing_to_post' | 'posted' | 'failed';
  posted: string[];
  error?: string;
}

/** Each configured channel's webhook: its URL, null when it is off, or the error reading it. */
async function readWebhooks(deps: AlertDeps): Promise<Map<string, string | null | Error>> {
  const channels = [DEFAULT_CHANNEL, ...((await deps.slackChannels?.()) ?? [])];
  const webhooks = new Map<string, string | null | Error>();
  for (const channel of channels) {
    try {
      webhooks.set(channel, await deps.slackWebhook(channel));
    } catch (error) {
      const named = channel === DEFAULT_CHANNEL ? '' : ` of channel ${channel}`;
      const slackError = new Error(`cannot read the Slack webhook${named}: ${toError(error).message}`);
      deps.logger.error('Slack webhook unavailable; its alerts wait for the next run', {
        error: slackError.message,
        channel,
      });
      webhooks.set(channel, slackError);
    }
  }
  return webhooks;
}

/** One channel's pending alerts: claimed, posted in as few messages as fit, then marked posted. */
async function postChannel(
  deps: AlertDeps,
  channel: string,
  webhook: string,
  pending: Alert[],
  claimId: string,
  context: JobContext & { source: string },
): Promise<ChannelPost> {
  const { logger } = deps;
  const claimedForSlack = await claim(deps, 'slack', pending, claimId, context);
  const claimed = pending.filter((alert) => claimedForSlack.has(deliveryKey(alert)));
  // A one-day incident's recovery goes to Pub/Sub only: in Slack it would double every single spike.
  const quiet = claimed.filter((alert) => alert.status === 'recovered' && (alert.incident_days ?? 1) <= 1);
  await markDelivered(deps, 'slack', quiet, claimId, context);
  const toPost = claimed.filter((alert) => !quiet.includes(alert));
  if (toPost.length === 0) return { slack: 'nothing_to_post', posted: [] };
  const messages = slackMessages(toPost, context.source);
  try {
    // In order; if one fails, every alert of the channel is posted again by the next run (at least once).
    for (const message of messages) await postToSlack(webhook, message);
  } catch (error) {
    const slackError = redact(toError(error).message, webhook);
    logger.error('Slack post failed; the alerts are on Pub/Sub, and the next run posts them', {
      error: slackError,
      channel,
    });
    for (const alert of toPost) await release(deps, 'slack', alert, claimId, context);
    return { slack: 'failed', posted: [], error: slackError };
  }
  // Delivered is what a posted message carried; anything else goes back for the next run.
  const carried = new Set(messages.flatMap((message) => message.alert_ids));
  const missed = toPost.filter((alert) => !carried.has(deliveryKey(alert)));
  if (missed.length > 0)
    logger.error('alerts left out of every Slack message; the next run posts them', {
      alert_ids: missed.map((alert) => alert.alert_id),
    });
  for (const alert of missed) await release(deps, 'slack', alert, claimId, context);
  const posted = toPost.filter((alert) => carried.has(deliveryKey(alert)));
  await markDelivered(deps, 'slack', posted, claimId, context);
  return { slack: 'posted', posted: posted.map(deliveryKey) };
}

/** The alerts table, created if missing, and given delivered_at if it predates it. */
async function ensureAlertsTable(warehouse: Warehouse, context: JobContext): Promise<void> {
  const columns = await warehouse.columnsOf(ALERTS_TABLE.dataset, ALERTS_TABLE.table);
  if (columns === null) await warehouse.ensureTable(ALERTS_TABLE);
  else if (!columns.some((column) => column.name === 'delivered_at')) {
    const sql = renderSqlFile('alerts/add_delivered_at.sql', {
      alerts: warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
    });
    await warehouse.runScript(
      splitStatements(sql),
      {},
      { ...context, sqlFile: 'alerts/add_delivered_at.sql' },
      { atomic: false },
    );
  }
}

async function claim(
  deps: AlertDeps,
  channel: Channel,
  alerts: Alert[],
  claimId: string,
  context: JobContext,
): Promise<Set<string>> {
  const { warehouse } = deps;
  if (alerts.length === 0) return new Set();
  const table = warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table);
  const sentAt = deps.clock();
  const staleBefore = new Date(sentAt.getTime() - CLAIM_TIMEOUT_MS);
  const rows = alerts.map((alert) =>
    alertsTableRow(alert, { alertId: deliveryKey(alert), channel, claimId, sentAt, deliveredAt: null }),
  );
  await mergeAlertRows(warehouse, 'alerts/claim.sql', rows, context, {
    stale_before: { type: 'TIMESTAMP', value: staleBefore },
  });
  return claimedIds(warehouse, table, channel, alerts, claimId, context);
}

/** The ids of the alerts' rows that claimId holds on the channel, after the claim. */
async function claimedIds(
  warehouse: Warehouse,
  table: string,
  channel: Channel,
  alerts: Alert[],
  claimId: string,
  context: JobContext,
): Promise<Set<string>> {
  const dates = alerts.map((alert) => alert.date).sort();
  const rows = await warehouse.query(
    renderSqlFile('alerts/claimed.sql', { alerts: table }),
    {
      claim_id: { type: 'STRING', value: claimId },
      channel: { type: 'STRING', value: channel },
      start_date: { type: 'DATE', value: dates[0] as string },
      end_date: { type: 'DATE', value: dates.at(-1) as string },
    },
    { ...context, sqlFile: 'alerts/claimed.sql' },
  );
  return new Set(rows.map((row) => String(row.alert_id)));
}

/** Marks alerts this invocation sent as delivered on the channel. */
async function markDelivered(
  deps: AlertDeps,
  channel: Channel,
  alerts: Alert[],
  claimId: string,
  context: JobContext,
): Promise<void> {
  const deliveredAt = deps.clock();
  for (const batch of chunk(alerts, CLAIM_BATCH)) {
    const ids = Object.fromEntries(
      batch.map((alert, index) => [`alert_id_${index + 1}`, { type: 'STRING' as const, value: deliveryKey(alert) }]),
    );
    const dates = batch.map((alert) => alert.date).sort();
    const sql = renderSqlFile('alerts/mark_delivered.sql', {
      alerts: deps.warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
      alert_ids: Object.keys(ids)
        .map((name) => `@${name}`)
        .join(', '),
    });
    await deps.warehouse.query(
      sql,
      {
        ...ids,
        delivered_at: { type: 'TIMESTAMP', value: deliveredAt },
        claim_id: { type: 'STRING', value: claimId },
        channel: { type: 'STRING', value: channel },
        start_date: { type: 'DATE', value: dates[0] as string },
        end_date: { type: 'DATE', value: dates.at(-1) as string },
      },
      { ...context, sqlFile: 'alerts/mark_delivered.sql' },
    );
  }
}

async function release(
  deps: AlertDeps,
  channel: Channel,
  alert: Alert,
  claimId: string,
  context: JobContext,
): Promise<void> {
  const sql = renderSqlFile('alerts/release.sql', {
    alerts: deps.warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
  });
  await deps.warehouse
    .query(
      sql,
      {
        claim_id: { type: 'STRING', value: claimId },
        channel: { type: 'STRING', value: channel },
        alert_id: { type: 'STRING', value: deliveryKey(alert) },
        date: { type: 'DATE', value: alert.date },
      },
      { ...context, sqlFile: 'alerts/release.sql' },
    )
    .catch((error: unknown) =>
      deps.logger.error(
        `cannot give back an alert claim; it is sent again once the claim is ${CLAIM_TIMEOUT_MS / 60_000} minutes old`,
        {
          alert_id: alert.alert_id,
          channel,
          error: toError(error).message,
        },
      ),
    );
}

async function unposted(deps: AlertDeps, context: JobContext): Promise<Alert[]> {
  const sql = renderSqlFile('alerts/unposted.sql', {
    alerts: deps.warehouse.tableRef(ALERTS_TABLE.dataset, ALERTS_TABLE.table),
  });
  const since = new Date(deps.clock().getTime() - SLACK_RETRY_DAYS * 86_400_000);
  const rows = await deps.warehouse.query(
    sql,
    { since: { type: 'TIMESTAMP', value: since } },
    { ...context, sqlFile: 'alerts/unposted.sql' },
  );
  return rows.map((row) => JSON.parse(String(row.payload)) as Alert);
}
