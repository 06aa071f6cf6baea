/** What several commands print: result rows, the delivery line, where local topics are. */
import path from 'node:path';
import { checkLabel, type CheckResult } from '../shared/monitor/detect';
import type { DeliveryReport } from '../shared/alerts/deliver';
import { LocalTopicPublisher, TOPICS } from '../shared/messaging/publisher';
import { DISPLAY_WIDTH, displayText, formatChange, formatNumber } from '../shared/format';
import { type Runtime } from './context';

/**
 * A result per row for `table()`. Every cell is cut to DISPLAY_WIDTH.label with its control
 * characters shown, not run: a table is as wide as its header and those widths, whatever the
 * warehouse holds (--json has the whole values).
 */
export function checkRows(results: CheckResult[]): string[][] {
  return results.map((result) =>
    [
      result.date,
      checkLabel(result.check, result.segment),
      formatNumber(result.metric),
      formatNumber(result.previous_metric),
      result.change === null ? '-' : formatChange(result.change),
      result.method,
      {
        raised: `RAISED (${result.severity})`,
        no_verdict: 'no verdict',
        error: 'FAILED',
        ok: 'ok',
        muted: 'muted (calendar)',
      }[result.verdict],
    ].map((cell) => displayText(cell, DISPLAY_WIDTH.label)),
  );
}

/** A result's message as one line of human output: on one line, cut to DISPLAY_WIDTH.message. */
export function messageLine(message: string): string {
  return displayText(message, DISPLAY_WIDTH.message);
}

export function deliveryLine(delivery: DeliveryReport, raised: number, publisherDir: string | undefined): string {
  const where = publisherDir ? ` (${path.join(publisherDir, `${TOPICS.alerts}.jsonl`)})` : '';
  const parts = [`${raised} raised`, `${delivery.published.length} published to ${TOPICS.alerts}${where}`];
  if (delivery.already_published.length > 0)
    parts.push(`${delivery.already_published.length} already published earlier`);
  if (delivery.slack === 'posted') parts.push(`${delivery.slack_alerts.length} posted to Slack`);
  if (delivery.slack === 'failed') parts.push(`Slack failed: ${messageLine(delivery.slack_error ?? '')}`);
  return `${parts.join(', ')}.`;
}

export /** Where local alerts land, to tell the user; undefined when publishing to Pub/Sub. */
function localTopicsDir(runtime: Runtime): string | undefined {
  return runtime.publisher instanceof LocalTopicPublisher ? runtime.publisher.dir : undefined;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
