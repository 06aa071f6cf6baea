/** How numbers read in messages, tables and Slack: one place, so they all read alike. */

/**
 * Thousands separators and at most one decimal; '-' for no value. A fraction under 10 keeps three
 * significant digits instead (a D30 retention of 0.0833, 3.24 sessions per user), which one
 * decimal would flatten to 0.1 and 3.2.
 */
export function formatNumber(value: number | null): string {
  if (value === null) return '-';
  if (Math.abs(value) < 10 && !Number.isInteger(value))
    return value.toLocaleString('en-US', { maximumSignificantDigits: 3 });
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/**
 * A fraction as a percentage: 0.1 is '10.0%'. Halves round away from zero, on the decimal value:
 * toFixed rounds the binary one, so a change stored rounded (1.9685) printed 196.8% beside the
 * 196.9% of the same change unrounded (1.968503) in the message next to it.
 */
export function formatPercent(fraction: number): string {
  const tenths = Math.round(Math.abs(fraction) * 1000 * (1 + Number.EPSILON) + 1e-9);
  return `${((Math.sign(fraction) * tenths) / 10).toFixed(1)}%`;
}

/** A relative change with its sign: 0.25 is '+25.0%', -0.5 is '-50.0%'. */
export function formatChange(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${formatPercent(fraction)}`;
}

/**
 * Display widths, in characters, of text that comes from data or config (an event name, a
 * segment, a check's message): what a table cell, a chart title or a Slack note shows of it. The
 * full value stays where it is stored (the warehouse, the Pub/Sub alert, --json; a segment name over
 * 256 characters is cut there too, shared/alerts/alert.ts alertSegment); a display cuts it
 * here with an ellipsis, so a warehouse filled by something else cannot grow a command's output.
 */
export const DISPLAY_WIDTH = {
  /** A check or check[segment] label: table cells, Slack rows, chart titles, report headings. */
  label: 80,
  /** A message line: `kpis monitor`'s `!` lines, Slack notes, the report's alert messages. */
  message: 600,
} as const;

/** Control characters: C0 but tab and newline, DEL and C1; every one moves or rewrites a terminal. */
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** Bidirectional controls (marks, embeddings, overrides, isolates): each reorders what follows it. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE = new RegExp(`${CONTROL.source}|${BIDI.source}`, 'g');

/** A control or bidi character as the six visible characters `\uXXXX` (also valid inside a JSON string). */
function visible(char: string): string {
  return `\\u${(char.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
}

/**
 * The text with every control character (C0 but tab and newline, DEL, C1) and bidi control shown
 * as `\uXXXX`, so printing it cannot move the cursor, retitle or recolour a terminal (ESC, OSC,
 * BEL), or reverse the rest of a line (U+202E). JSON stays JSON: the escape is JSON's own.
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * The text cut to `width` characters (UTF-16 units, as JavaScript and Slack count them) of its display, the last one an ellipsis when cut. `escape`
 * maps a character to what shows of it (`&lt;` for Slack, say); every character on one line, as
 * control characters, tabs and newlines show as `\uXXXX`. Reads only as far as the width: a
 * 200 MB name costs what its first `width` characters cost.
 */
export function displayText(text: string, width: number, escape: (char: string) => string = (char) => char): string {
  let out = '';
  // How much of `out` leaves room for the ellipsis, should the text turn out longer than the width.
  let room = 0;
  for (const char of text) {
    const piece = char === '\n' || char === '\t' || escapeControls(char) !== char ? visible(char) : escape(char);
    if (out.length + piece.length > width) return `${out.slice(0, room)}…`;
    out += piece;
    if (out.length <= width - 1) room = out.length;
  }
  return out;
}
