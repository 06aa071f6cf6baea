/**
 * Event names that try to act when shown: markup, Slack syntax, backticks, terminal escapes and
 * bidi controls; and a history in which each name raises on the last day, so its name travels
 * through the monitor into alerts, Slack, the CLI's tables and the report.
 */
import { addDays } from '../../shared/dates';
import type { Row } from '../../shared/warehouse/warehouse';

/** Hand-picked members of every hostile class (the chaos test generates the rest). */
export const HOSTILE_NAMES = [
  '<!channel>',
  '<@U123> & <https://evil.example|click here>',
  '```\n<!here>\n```',
  '\u001b]0;pwned\u0007\u001b[2J\u001b[31mred',
  '\u009b31m c1 csi \u0085 nel \u007f del \r overwrite',
  'abc\u202eevil.exe\u202c \u2066isolate\u2069',
  '<img src=x onerror="alert(1)"><script>alert(2)</script>',
  'kpi:dau" onmouseover="x',
];

/** Any control or bidi character a terminal or a line of text acts on (newline and tab aside). */
// eslint-disable-next-line no-control-regex -- finding them is the point
export const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * `days` days up to the day before `today`: each name `base` events a day, then ten times as many
 * on the last day (a spike); with `lost`, that name has events every day but the last (a lost
 * segment).
 */
export function hostileHistory(
  names: string[],
  today: string,
  days: number,
  lost: string | null = null,
  base = 40,
): Row[] {
  const rows: Row[] = [];
  const last = addDays(today, -1);
  for (let back = days; back >= 1; back -= 1) {
    const day = addDays(today, -back);
    for (const [index, name] of names.entries()) {
      if (name === lost && day === last) continue;
      const count = day === last && name !== lost ? base * 10 : base;
      for (let n = 0; n < count; n += 1) {
        rows.push({
          user_id: `u${index}_${n % 7}`,
          time: new Date(`${day}T${String(n % 24).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:00Z`),
          event_name: name,
          coins_added: null,
        });
      }
    }
  }
  return rows;
}
