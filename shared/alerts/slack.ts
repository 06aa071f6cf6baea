/**
 * Slack: a monitor run's raised checks, grouped into a table (as the seed did), each KPI with a
 * sparkline of its last 14 days, the raised day marked. Slack truncates long messages, so a long
 * run is split into several messages at check boundaries rather than cut. The webhook URL is a
 * credential: it never appears in a log line or an error.
 */
import { groupBy, sortBy } from 'lodash';
import { formatNumber } from '../format';
import { alertChange, alertLabel, type Alert } from './alert';

export interface SlackMessage {
  text: string;
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
  const bar = (value: number | null): string => (value === null ? ' ' : (BARS[high === low ? 3 : Math.round(((value - low) / (high - low)) * (BARS.length - 1))] as string));
  return `${values.slice(0, -1).map(bar).join('')}[${bar(values.at(-1) ?? null)}]`;
}

/** The messages for a run's alerts: a title line, then one monospace table per kind, split to fit. */
export function slackMessages(alerts: Alert[], source: string): SlackMessage[] {
  // Errors first; a check's segments stay together, so they read as one block of the table.
  const checkSeverity = new Map<string, number>();
  for (const alert of alerts) checkSeverity.set(alert.check, Math.min(checkSeverity.get(alert.check) ?? 1, SEVERITY_ORDER[alert.severity]));
  const sorted = sortBy(alerts, [(alert) => checkSeverity.get(alert.check), 'date', 'check', (alert) => alert.segment ?? '']);
  const errors = sorted.filter((alert) => alert.severity === 'error').length;
  const title = `:rotating_light: *daily-kpis: ${plural(alerts.length, 'alert')}* from ${source}${errors > 0 ? ` (${plural(errors, 'error')})` : ''}`;
  // Blocks of text, each whole in one message: a kind's heading, then per check its table rows
  // (with the trend) and its messages.
  const blocks: { heading: string; table: string[]; notes: string[] }[] = [];
  for (const [kind, group] of Object.entries(groupBy(sorted, 'kind'))) {
    const trends = group.some((alert) => alert.trend);
    const header = ['severity', 'check', 'date', 'value', 'baseline', 'change', ...(trends ? ['last 14 days'] : [])];
    const cells = (alert: Alert) => [
      alert.severity,
      alertLabel(alert),
      alert.date,
      formatNumber(alert.metric),
      formatNumber(alert.previous_metric),
      alertChange(alert),
      ...(trends ? [alert.trend ? sparkline(alert.trend) : ''] : []),
    ];
    const widths = header.map((name, i) => Math.max(name.length, ...group.map((alert) => (cells(alert)[i] as string).length)));
    const line = (row: string[]): string =>
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd();
    const heading = `*${kind === 'kpi' ? 'KPI anomalies' : 'Pipeline'}*\n${line(header)}`;
    for (const [, checkAlerts] of Object.entries(groupBy(group, 'check'))) {
      blocks.push({
        heading,
        table: checkAlerts.flatMap((alert) => [
          line(cells(alert)),
          ...(alert.trend ? [`  values: ${alert.trend.map((value) => (value === null ? '-' : formatNumber(value))).join(' ')}`] : []),
        ]),
        notes: checkAlerts.map((alert) => `• ${alert.message}`),
      });
    }
  }
  return pack(title, blocks);
}

/** The title and the blocks in as few messages as fit SLACK_MESSAGE_LIMIT, each message's table in a code block. */
function pack(title: string, blocks: { heading: string; table: string[]; notes: string[] }[]): SlackMessage[] {
  const render = (prefix: string, group: typeof blocks): string => {
    const parts = [prefix];
    for (const [index, block] of group.entries()) {
      if (index === 0 || block.heading !== group[index - 1]?.heading) parts.push(`${block.heading.split('\n')[0]}`, '```', ...block.heading.split('\n').slice(1));
      parts.push(...block.table);
      const next = group[index + 1];
      if (!next || next.heading !== block.heading) {
        parts.push('```', ...group.filter((other) => other.heading === block.heading).flatMap((other) => other.notes));
      }
    }
    return parts.join('\n');
  };
  const messages: (typeof blocks)[] = [[]];
  const pieces = blocks.flatMap((whole) => splitBlock(whole, title));
  // Measured with the widest "(i/n)" a split run's title can get, which it gets once it is split.
  const counted = `${title} (${pieces.length}/${pieces.length})`;
  for (const block of pieces) {
    const current = messages.at(-1) as typeof blocks;
    if (current.length > 0 && render(counted, [...current, block]).length > SLACK_MESSAGE_LIMIT) messages.push([block]);
    else current.push(block);
  }
  return messages.map((group, index) => ({ text: render(messages.length === 1 ? title : `${title} (${index + 1}/${messages.length})`, group) }));
}

/** A block too long for one message on its own (a very long check message, say) in pieces that fit. */
function splitBlock(block: { heading: string; table: string[]; notes: string[] }, title: string): (typeof block)[] {
  const room = SLACK_MESSAGE_LIMIT - title.length - block.heading.length - 40;
  const size = (lines: string[]) => lines.reduce((sum, line) => sum + line.length + 1, 0);
  if (size(block.table) + size(block.notes) <= room) return [block];
  const cut = (line: string): string[] =>
    line.length <= room ? [line] : Array.from({ length: Math.ceil(line.length / room) }, (_unused, i) => line.slice(i * room, (i + 1) * room));
  const pieces: (typeof block)[] = [];
  let current = { heading: block.heading, table: [] as string[], notes: [] as string[] };
  const add = (line: string, into: 'table' | 'notes') => {
    if (size(current.table) + size(current.notes) + line.length + 1 > room && (current.table.length > 0 || current.notes.length > 0)) {
      pieces.push(current);
      current = { heading: block.heading, table: [], notes: [] };
    }
    current[into].push(line);
  };
  for (const line of block.table.flatMap(cut)) add(line, 'table');
  for (const line of block.notes.flatMap(cut)) add(line, 'notes');
  pieces.push(current);
  return pieces;
}

/** Posts to an incoming webhook; throws an error that names neither the URL nor its path. */
export async function postToSlack(webhookUrl: string, message: SlackMessage, timeoutMs = 10_000): Promise<void> {
  let response: Response;
  try {
    response = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    // No `cause`: fetch's own errors can quote the URL, and whoever logs this error may print them.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(redact(`Slack webhook unreachable (${cause})`, webhookUrl));
  }
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).slice(0, 200);
    throw new Error(redact(`Slack webhook answered HTTP ${response.status}${body ? `: ${body}` : ''}`, webhookUrl));
  }
}

/** Removes the URL, and its path (the secret part of a Slack webhook), from a text. */
export function redact(text: string, webhookUrl: string): string {
  let out = text.split(webhookUrl).join('[slack webhook]');
  try {
    const { pathname } = new URL(webhookUrl);
    if (pathname.length > 1) out = out.split(pathname).join('[redacted]');
  } catch {
    // Not a URL: nothing more to hide than the text itself.
  }
  return out;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
