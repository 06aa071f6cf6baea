/**
 * Slack: a monitor run's raised checks, grouped into a table (as the seed did), each KPI with a
 * sparkline of its last 14 days, the raised day marked. Slack truncates long messages, so a long
 * run is split into several messages at check boundaries rather than cut. The webhook URL is a
 * credential: it never appears in a log line or an error. An ongoing incident's update and a
 * recovery come under headings of their own; a check's owners are mentioned after its note, from
 * ids that match Slack's id shapes only (the config validates them; a payload cannot add markup).
 */
import { escapeRegExp, groupBy, sortBy } from 'lodash';
import { DISPLAY_WIDTH, displayText, escapeControls, formatNumber } from '../format';
import { alertChange, alertLabel, deliveryKey, type Alert } from './alert';

export interface SlackMessage {
  text: string;
  /** The alerts whose row this message carries: only these are marked posted once it is. */
  alert_ids: string[];
}

const SEVERITY_ORDER = { error: 0, warn: 1 } as const;

/**
 * The most characters one message carries: Slack displays up to 4,000 characters of a message's
 * text in full ("for best results", its docs say) and truncates far longer ones.
 */
export const SLACK_MESSAGE_LIMIT = 4_000;

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * A Unicode sparkline of a trend, the last (raised) day in brackets: `▃▄▃▅▄▃▂▃▄▃▅▄▃[█]`. A day
 * without a value is a space. Scaled from the trend's own minimum to its maximum.
 */
export function sparkline(values: (number | null)[]): string {
  const known = values.filter((value): value is number => value !== null);
  if (known.length === 0) return '';
  const low = Math.min(...known);
  const high = Math.max(...known);
  const bar = (value: number | null): string =>
    value === null
      ? ' '
      : (BARS[high === low ? 3 : Math.round(((value - low) / (high - low)) * (BARS.length - 1))] as string);
  return `${values.slice(0, -1).map(bar).join('')}[${bar(values.at(-1) ?? null)}]`;
}

/**
 * Data as Slack shows it: cut to `width` (the full value stays in the Pub/Sub alert), and escaped
 * by Slack's rule (`&`, `<`, `>`), so `<!channel>` or `<https://x|y>` in a name is text, not a
 * mention or a link. A backtick becomes a look-alike (U+02CB): data cannot open or close a code
 * block. Control and bidi characters show as `\uXXXX`.
 */
export function slackText(text: string, width: number): string {
  return displayText(text, width, (char) => SLACK_ESCAPES.get(char) ?? char);
}

const SLACK_ESCAPES = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['`', '\u02cb'],
]);

/** How wide an escaped text looks in Slack: each escape is one character there. */
function shownWidth(text: string): number {
  return text.replace(/&(?:amp|lt|gt);/g, '&').length;
}

/** One alert's lines: its table row (and trend values), and its note below the table. */
interface Entry {
  alert_id: string;
  rows: string[];
  note: string;
}

/** A check's alerts under a kind's heading; a block stays in one message unless it cannot fit one. */
interface Block {
  heading: string;
  entries: Entry[];
}

/** The messages for a run's alerts: a title line, then one monospace table per kind, split to fit. */
export function slackMessages(alerts: Alert[], source: string): SlackMessage[] {
  // Errors first; a check's segments stay together, so they read as one block of the table.
  const checkSeverity = new Map<string, number>();
  for (const alert of alerts)
    checkSeverity.set(alert.check, Math.min(checkSeverity.get(alert.check) ?? 1, SEVERITY_ORDER[alert.severity]));
  const sorted = sortBy(alerts, [
    (alert) => checkSeverity.get(alert.check),
    'date',
    'check',
    (alert) => alert.segment ?? '',
  ]);
  const errors = sorted.filter((alert) => alert.severity === 'error').length;
  const from = slackText(source, DISPLAY_WIDTH.label);
  const title = `${titleOf(alerts)} from ${from}${errors > 0 ? ` (${plural(errors, 'error')})` : ''}`;
  const blocks = Object.entries(groupBy(sorted, sectionOf)).flatMap(([kind, group]) => kindBlocks(kind, group));
  return pack(title, blocks);
}

/** One kind's table: its heading and header line, then a block per check. */
function kindBlocks(kind: string, group: Alert[]): Block[] {
  const trends = group.some((alert) => alert.trend);
  const header = ['severity', 'check', 'date', 'value', 'baseline', 'change', ...(trends ? ['last 14 days'] : [])];
  // Every cell escaped and cut: a name or a number from data cannot widen the table past a fixed width.
  const cells = (alert: Alert) =>
    [
      alert.severity,
      alertLabel(alert),
      alert.date,
      formatNumber(alert.metric),
      formatNumber(alert.previous_metric),
      alertChange(alert),
      ...(trends ? [alert.trend ? sparkline(alert.trend) : ''] : []),
    ].map((cell) => slackText(cell, DISPLAY_WIDTH.label));
  const rows = new Map(group.map((alert) => [alert, cells(alert)]));
  const widths = header.map((name, i) =>
    Math.max(name.length, ...group.map((alert) => shownWidth(rows.get(alert)?.[i] as string))),
  );
  const line = (row: string[]): string =>
    row
      .map((cell, i) => cell + ' '.repeat((widths[i] as number) - shownWidth(cell)))
      .join('  ')
      .trimEnd();
  const heading = `*${kind}*\n${line(header)}`;
  return Object.entries(groupBy(group, 'check')).map(([, checkAlerts]) => ({
    heading,
    entries: checkAlerts.map((alert) => ({
      alert_id: deliveryKey(alert),
      rows: [
        line(rows.get(alert) as string[]),
        ...(alert.trend ? [slackText(`  values: ${trendValues(alert.trend)}`, DISPLAY_WIDTH.message)] : []),
      ],
      note: `• ${slackText(alert.message, DISPLAY_WIDTH.message)}${mentions(alert.owner ?? [])}`,
    })),
  }));
}

/** The heading an alert's row comes under: new KPI anomalies, ongoing incidents, recoveries, pipeline. */
function sectionOf(alert: Alert): string {
  if (alert.kind !== 'kpi') return 'Pipeline';
  if (alert.status === 'ongoing') return 'Ongoing incidents';
  return alert.status === 'recovered' ? 'Recovered' : 'KPI anomalies';
}

/** `:rotating_light: *daily-kpis: 2 alerts, 1 ongoing*`; only recoveries: a check mark. */
function titleOf(alerts: Alert[]): string {
  const ongoing = alerts.filter((alert) => alert.status === 'ongoing').length;
  const recovered = alerts.filter((alert) => alert.status === 'recovered').length;
  const fresh = alerts.length - ongoing - recovered;
  const parts = [
    fresh > 0 ? plural(fresh, 'alert') : '',
    ongoing > 0 ? `${ongoing} ongoing` : '',
    recovered > 0 ? `${recovered} recovered` : '',
  ].filter(Boolean);
  return `${recovered === alerts.length ? ':white_check_mark:' : ':rotating_light:'} *daily-kpis: ${parts.join(', ')}*`;
}

/** Slack's ids: members U… or W…, user groups S…; anything else is left out, never written as markup. */
const MEMBER_ID = /^[UW][A-Z0-9]{2,20}$/;
const GROUP_ID = /^S[A-Z0-9]{2,20}$/;

/** ` cc <@U0123> <!subteam^S0456>`, or nothing. */
export function mentions(owner: readonly string[]): string {
  const marks = owner
    .flatMap((id) => (MEMBER_ID.test(id) ? [`<@${id}>`] : GROUP_ID.test(id) ? [`<!subteam^${id}>`] : []))
    .slice(0, 10);
  return marks.length === 0 ? '' : ` cc ${marks.join(' ')}`;
}

function trendValues(trend: (number | null)[]): string {
  return trend.map((value) => (value === null ? '-' : formatNumber(value))).join(' ');
}

/**
 * The title and the blocks in as few messages as fit SLACK_MESSAGE_LIMIT, each message's table in
 * a code block. A block too long for a message of its own is split between alerts; as every line
 * is cut to a fixed width, one alert always fits a message, so every alert is carried by one.
 */
function pack(title: string, blocks: Block[]): SlackMessage[] {
  const render = (prefix: string, group: Block[]): string => {
    const parts = [prefix];
    for (const [index, block] of group.entries()) {
      const [kindLine, ...headerLines] = block.heading.split('\n');
      if (index === 0 || block.heading !== group[index - 1]?.heading)
        parts.push(kindLine as string, '```', ...headerLines);
      parts.push(...block.entries.flatMap((entry) => entry.rows));
      const next = group[index + 1];
      if (!next || next.heading !== block.heading) {
        parts.push(
          '```',
          ...group
            .filter((other) => other.heading === block.heading)
            .flatMap((other) => other.entries.map((entry) => entry.note)),
        );
      }
    }
    return parts.join('\n');
  };
  const fits = (prefix: string, group: Block[]) => render(prefix, group).length <= SLACK_MESSAGE_LIMIT;
  // Measured with the widest "(i/n)" a split run's title can get: at most one message per alert.
  const alertCount = blocks.reduce((sum, block) => sum + block.entries.length, 0);
  const counted = `${title} (${alertCount}/${alertCount})`;
  const pieces = blocks.flatMap((block) => splitBlock(block, (piece) => fits(counted, [piece])));
  const messages: Block[][] = [[]];
  for (const piece of pieces) {
    const current = messages.at(-1) as Block[];
    if (current.length > 0 && !fits(counted, [...current, piece])) messages.push([piece]);
    else current.push(piece);
  }
  return messages.map((group, index) => ({
    text: render(messages.length === 1 ? title : `${title} (${index + 1}/${messages.length})`, group),
    alert_ids: group.flatMap((block) => block.entries.map((entry) => entry.alert_id)),
  }));
}

/** A block too long for one message on its own in pieces that each fit, split between its alerts. */
function splitBlock(block: Block, fits: (piece: Block) => boolean): Block[] {
  if (fits(block)) return [block];
  const pieces: Block[] = [];
  let current: Entry[] = [];
  for (const entry of block.entries) {
    if (current.length > 0 && !fits({ heading: block.heading, entries: [...current, entry] })) {
      pieces.push({ heading: block.heading, entries: current });
      current = [];
    }
    current.push(entry);
  }
  pieces.push({ heading: block.heading, entries: current });
  return pieces;
}

/**
 * Posts to an incoming webhook; throws an error that names neither the URL nor its path. A
 * redirect is a failure, not followed: the message (and the URL's path) would go to another host.
 */
export async function postToSlack(
  webhookUrl: string,
  message: Pick<SlackMessage, 'text'>,
  timeoutMs = 10_000,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: message.text }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    // No `cause`: fetch's own errors can quote the URL, and whoever logs this error may print them.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(redact(`Slack webhook unreachable (${cause})`, webhookUrl));
  }
  if (response.status >= 300) {
    const body = (await response.text().catch(() => '')).slice(0, 200);
    const moved = response.status < 400 ? ' (a redirect, not followed)' : '';
    throw new Error(
      redact(
        `Slack webhook answered HTTP ${response.status}${moved}${body ? `: ${escapeControls(body)}` : ''}`,
        webhookUrl,
      ),
    );
  }
}

/**
 * Removes the URL, its path and its last path segment (the secret token of a Slack webhook) from
 * a text, in any letter case: a server may echo the URL upper-cased, or the token alone.
 */
export function redact(text: string, webhookUrl: string): string {
  const secrets: [string, string][] = [[webhookUrl, '[slack webhook]']];
  try {
    const { pathname } = new URL(webhookUrl);
    if (pathname.length > 1) secrets.push([pathname, '[redacted]']);
    const token = pathname.split('/').filter(Boolean).at(-1) ?? '';
    // A short last segment is no token, and hiding it would blank common words out of the message.
    if (token.length >= 8) secrets.push([token, '[redacted]']);
  } catch {
    // Not a URL: nothing more to hide than the text itself.
  }
  let out = text;
  for (const [secret, mark] of secrets) out = out.replace(new RegExp(escapeRegExp(secret), 'gi'), mark);
  return out;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
