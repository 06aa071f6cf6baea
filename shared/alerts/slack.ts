/**
 * Slack: one incoming-webhook message per monitor run, its raised checks grouped into a table (as
 * the seed did). The webhook URL is a credential: it never appears in a log line or an error.
 */
import { groupBy, sortBy } from 'lodash';
import { formatNumber } from '../format';
import { alertChange, alertLabel, type Alert } from './alert';

export interface SlackMessage {
  text: string;
}

const SEVERITY_ORDER = { error: 0, warn: 1 } as const;

/** The message for a run's alerts: a title line, then one monospace table per kind. */
export function slackMessage(alerts: Alert[], source: string): SlackMessage {
  // Errors first; a check's segments stay together, so they read as one block of the table.
  const checkSeverity = new Map<string, number>();
  for (const alert of alerts) checkSeverity.set(alert.check, Math.min(checkSeverity.get(alert.check) ?? 1, SEVERITY_ORDER[alert.severity]));
  const sorted = sortBy(alerts, [(alert) => checkSeverity.get(alert.check), 'date', 'check', (alert) => alert.segment ?? '']);
  const errors = sorted.filter((alert) => alert.severity === 'error').length;
  const title = `:rotating_light: *daily-kpis: ${plural(alerts.length, 'alert')}* from ${source}${errors > 0 ? ` (${plural(errors, 'error')})` : ''}`;
  const sections = Object.entries(groupBy(sorted, 'kind')).map(([kind, group]) => {
    const header = ['severity', 'check', 'date', 'value', 'baseline', 'change'];
    const rows = group.map((alert) => [
      alert.severity,
      alertLabel(alert),
      alert.date,
      formatNumber(alert.metric),
      formatNumber(alert.previous_metric),
      alertChange(alert),
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
    const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
    const messages = group.map((alert) => `• ${alert.message}`).join('\n');
    return `*${kind === 'kpi' ? 'KPI anomalies' : 'Pipeline'}*\n\`\`\`\n${[line(header), ...rows.map(line)].join('\n')}\n\`\`\`\n${messages}`;
  });
  return { text: [title, ...sections].join('\n') };
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
