/** How numbers read in messages, tables and Slack: one place, so they all read alike. */

/** Thousands separators and at most one decimal; '-' for no value. */
export function formatNumber(value: number | null): string {
  return value === null ? '-' : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** A fraction as a percentage: 0.1 is '10.0%'. */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A relative change with its sign: 0.25 is '+25.0%', -0.5 is '-50.0%'. */
export function formatChange(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${formatPercent(fraction)}`;
}
