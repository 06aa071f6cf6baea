/**
 * Timestamps as canonical UTC strings, 'YYYY-MM-DDTHH:MM:SS.sssZ', or with six fractional digits
 * when there is something below the millisecond: microseconds, as BigQuery and DuckDB keep them,
 * which a JavaScript Date would drop.
 */

/** 2026-11-20T10:00:00Z, 2026-11-20 10:00:00.123456, 2026-11-20 10:00:00+02:00, 2026-11-20 10:00 UTC, 2026-11-20 */
const TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Parses a timestamp as BigQuery would, reading one without a zone as UTC; undefined if it is not one. */
export function parseTimestamp(text: string): string | undefined {
  const match = TIMESTAMP.exec(text.trim());
  if (!match) return undefined;
  const [, day, hh = '00', mm = '00', ss = '00', fraction = '', zone] = match;
  const offset = offsetOf(zone);
  if (!fieldsInRange(day as string, hh, mm, ss, offset)) return undefined;
  const micros = fraction.padEnd(6, '0');
  const parsed = new Date(`${day}T${hh}:${mm}:${ss}.${micros.slice(0, 3)}${offset}`);
  if (Number.isNaN(parsed.getTime())) return undefined;
  return withMicros(parsed, Number(micros.slice(3, 6)));
}

/** A zone as an ISO offset: Z for none, Z or UTC, else +HH:MM. */
function offsetOf(zone: string | undefined): string {
  if (!zone || /^(z|utc)$/i.test(zone)) return 'Z';
  const digits = zone.replace(':', '');
  return `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
}

/**
 * Date() rolls 2026-02-30 or 24:00 over to the next day, with or without an offset: every field
 * is checked on its own, the day as a calendar day.
 */
function fieldsInRange(day: string, hh: string, mm: string, ss: string, offset: string): boolean {
  const calendarDay = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(calendarDay.getTime()) || !calendarDay.toISOString().startsWith(day)) return false;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return false;
  return Number(offset.slice(1, 3)) <= 14 && Number(offset.slice(4, 6)) <= 59;
}

/** The canonical form of a Date, or of an already canonical (or any parseable) string. */
export function canonicalTimestamp(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  const parsed = parseTimestamp(value);
  if (parsed === undefined) throw new Error(`not a timestamp: ${JSON.stringify(value)}`);
  return parsed;
}

/** Microseconds since the epoch, for engines that store them. */
export function timestampMicros(value: Date | string): bigint {
  const canonical = canonicalTimestamp(value);
  const micros = canonical.length > 24 ? BigInt(canonical.slice(23, 26)) : 0n;
  return BigInt(Date.parse(canonical)) * 1000n + micros;
}

function withMicros(instant: Date, micros: number): string {
  const iso = instant.toISOString();
  return micros === 0 ? iso : `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
