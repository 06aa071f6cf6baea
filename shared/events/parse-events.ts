/**
 * Checks an event file (CSV with a header, or JSON lines) record by record into rows of the
 * source table. A malformed file fails with the line and column of its first 20 problems (the
 * rest are counted) and nothing is loaded. The same checks run on a string (parseCsvEvents,
 * parseJsonLinesEvents) and on a file as it streams (readEventBatches), which holds one batch of
 * rows and one line at a time, whatever the file's size.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parse as parseCsvStream, type Options as CsvOptions } from 'csv-parse';
import { parse as parseCsvText } from 'csv-parse/sync';
import { InputFileError, UsageError } from '../errors';
import { SOURCE_COLUMNS } from '../schema';
import { parseTimestamp } from '../timestamps';
import type { Row } from '../warehouse/warehouse';

export const EVENT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

const EXTENSIONS = new Map<string, EventFormat>([
  ['.csv', 'csv'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.json', 'jsonl'],
  ['.parquet', 'parquet'],
]);

export function detectFormat(file: string): EventFormat {
  const format = EXTENSIONS.get(path.extname(file).toLowerCase());
  if (!format) {
    throw new UsageError(
      `${file}: cannot tell the format from the extension; use one of ${[...EXTENSIONS.keys()].join(', ')} or --format ${EVENT_FORMATS.join('|')}`,
    );
  }
  return format;
}

/**
 * The most characters (Unicode code points) a loaded user id or event name may hold. Real ids
 * (UUIDs, Firebase ids: 36 and 28) and event names (Firebase: 40) are far shorter; 256 leaves room
 * for namespaced ids, while every table, chart and Slack line that shows one stays readable.
 */
export const MAX_TEXT_LENGTH: ReadonlyMap<string, number> = new Map([
  ['user_id', 256],
  ['event_name', 256],
  // GA4's platform (ANDROID, IOS, WEB) and geo.country (English names) are far shorter.
  ['platform', 64],
  ['country', 64],
]);
/**
 * A CSV record or JSON line longer than this is refused without being held whole: six columns of
 * bounded text fit in a few KiB, and a 1 GB line would not fit in a JavaScript string.
 */
export const MAX_LINE_LENGTH = 64 * 1024;
/** Problems a rejected file lists; the rest are counted. */
const MAX_PROBLEMS = 20;
const COLUMN_NAMES = SOURCE_COLUMNS.map((column) => column.name);
/** Rows handed to the warehouse at a time when a file streams. */
const BATCH_ROWS = 10_000;

type Problem = { line: number; column: number | string; message: string };
export type Where = (name: string) => number | string;

/** A value as an error message shows it: JSON, cut short (the line holding it may be 64 KiB). */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** More code points than `max`, counted only as far as needed (a code point is one or two UTF-16 units). */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  let count = 0;
  for (const _codePoint of text) if (++count > max) return true;
  return false;
}

/** Records a problem with a record's value. */
type ValueProblem = (name: string, message: string) => void;

/** An optional text column: null when empty, or when it is not text or too long (a problem). */
function textValue(record: Record<string, unknown>, name: string, problem: ValueProblem): string | null {
  const value = Object.hasOwn(record, name) ? record[name] : undefined;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') problem(name, `expected text, got ${shown(value)}`);
  else if (longerThan(value, MAX_TEXT_LENGTH.get(name) as number))
    problem(name, `longer than ${MAX_TEXT_LENGTH.get(name)} characters (see the README's limits)`);
  else return value;
  return null;
}

/** The required time, normalised; undefined with a problem when missing or not a timestamp. */
function timeValue(record: Record<string, unknown>, problem: ValueProblem): string | undefined {
  const timeText = Object.hasOwn(record, 'time') ? record.time : undefined;
  let time: string | undefined;
  if (timeText === undefined || timeText === null || timeText === '') problem('time', 'is required');
  else if (typeof timeText !== 'string' || (time = parseTimestamp(timeText)) === undefined) {
    problem('time', `expected a timestamp such as 2026-11-20T10:00:00Z, got ${shown(timeText)}`);
  }
  return time;
}

/** The optional coins_added: a whole number (from a number or its text), else a problem. */
function coinsValue(record: Record<string, unknown>, problem: ValueProblem): number | null {
  const value = Object.hasOwn(record, 'coins_added') ? record.coins_added : undefined;
  if (value === undefined || value === null || value === '') return null;
  const coins =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(coins)) problem('coins_added', `expected a whole number, got ${shown(value)}`);
  return coins;
}

/** A file's problems, thrown together once it is read: the first MAX_PROBLEMS listed, the rest counted. */
export class FileProblems {
  readonly problems: Problem[] = [];

  constructor(readonly file: string) {}

  add(line: number, column: number | string, message: string): void {
    this.problems.push({ line, column, message });
  }

  /** Throws the file's problems, if it has any. */
  check(): void {
    const { file, problems } = this;
    if (problems.length === 0) return;
    const listed = problems.slice(0, MAX_PROBLEMS).map((p) => `${file}:${p.line}: column ${p.column}: ${p.message}`);
    const more = problems.length > MAX_PROBLEMS ? [`... and ${problems.length - MAX_PROBLEMS} more problems`] : [];
    throw new InputFileError(
      [`${file}: nothing loaded, the file has ${problems.length} problem(s):`, ...listed, ...more].join('\n  '),
    );
  }
}

/** The problems of one file, and its records turned into rows. */
class EventChecker extends FileProblems {
  unknownColumns(names: string[], line: number, where: Where): void {
    for (const name of names) {
      if (!COLUMN_NAMES.includes(name))
        this.add(
          line,
          where(name),
          `unknown column ${JSON.stringify(name)}; the source table has ${COLUMN_NAMES.join(', ')}`,
        );
    }
  }

  /** Checks one record's values, returning the row, or undefined when it has a problem. */
  row(record: Record<string, unknown>, where: Where, line: number): Row | undefined {
    const before = this.problems.length;
    const problem: ValueProblem = (name, message) => this.add(line, where(name), `${name}: ${message}`);
    const userId = textValue(record, 'user_id', problem);
    if (userId === null && this.problems.length === before) problem('user_id', 'is required');
    const time = timeValue(record, problem);
    const eventName = textValue(record, 'event_name', problem);
    const coins = coinsValue(record, problem);
    const platform = textValue(record, 'platform', problem);
    const country = textValue(record, 'country', problem);
    if (this.problems.length > before) return undefined;
    return { user_id: userId, time: time as string, event_name: eventName, coins_added: coins, platform, country };
  }
}

/** csv-parse's options, with `on_record` turning each record into a row (or null to skip it). */
function csvOptions(onRecord: (record: string[], context: { lines: number }) => Row | null): CsvOptions {
  const options = {
    skip_empty_lines: true,
    relax_column_count: false,
    bom: true,
    trim: true,
    max_record_size: MAX_LINE_LENGTH,
    on_record: onRecord,
  };
  return options as unknown as CsvOptions;
}

/** A CSV file's records, header first, checked as csv-parse reads them. */
class CsvRecords {
  readonly checker: EventChecker;
  private names: string[] | undefined;

  constructor(file: string) {
    this.checker = new EventChecker(file);
  }

  /** csv-parse's `on_record`: the row, or null for the header and for a record with a problem. */
  readonly onRecord = (record: string[], context: { lines: number }): Row | null => {
    if (this.names === undefined) {
      this.header(
        record.map((name) => name.trim()),
        context.lines,
      );
      return null;
    }
    const names = this.names;
    return (
      this.checker.row(Object.fromEntries(names.map((name, i) => [name, record[i]])), this.where, context.lines) ?? null
    );
  };

  /** A parse error ends the reading: it is the file's last problem. */
  parseError(error: unknown): void {
    const { code, lines, index, column } = error as { code?: string; lines?: number; index?: number; column?: number };
    if (code === 'CSV_MAX_RECORD_SIZE' && index !== undefined) {
      const name = this.names?.[index] ?? '';
      const limit = MAX_TEXT_LENGTH.get(name);
      const what =
        limit === undefined
          ? `a record longer than ${MAX_LINE_LENGTH} characters`
          : `${name}: longer than ${limit} characters (see the README's limits)`;
      this.checker.add(lines ?? 0, index + 1, what);
      return;
    }
    this.checker.add(lines ?? 0, column ?? '?', `${(error as Error).message}`);
  }

  /** Throws the problems found, or that the file had no header. */
  end(): void {
    if (this.names === undefined && this.checker.problems.length === 0) {
      throw new InputFileError(
        `${this.checker.file}: the file is empty; expected a header line with ${COLUMN_NAMES.join(', ')}`,
      );
    }
    this.checker.check();
  }

  private readonly where = (name: string): number => {
    const names = this.names ?? [];
    return names.indexOf(name) + 1 || names.length + 1;
  };

  private header(names: string[], line: number): void {
    this.names = names;
    this.checker.unknownColumns(names, line, this.where);
    for (const required of SOURCE_COLUMNS.filter((c) => c.required)) {
      if (!names.includes(required.name))
        this.checker.add(line, this.where(required.name), `missing required column ${required.name}`);
    }
    // A header problem is the file's only one: its rows would be read under the wrong names.
    this.checker.check();
  }
}

/**
 * The 1-based column where JSON text goes wrong. V8 gives a position for some errors only; else
 * the shortest prefix that fails for a reason other than being cut short is found by bisection (a
 * prefix that fails so, fails so however much longer it grows), in a few dozen parses at most.
 */
function jsonErrorColumn(text: string, firstError: Error): number | undefined {
  const failure = (end: number): number | null => {
    try {
      JSON.parse(text.slice(0, end));
      return null;
    } catch (error) {
      const message = (error as Error).message;
      const position = /position (\d+)/.exec(message)?.[1];
      const cutShort =
        /end of (JSON )?input|Unterminated/i.test(message) || (position !== undefined && Number(position) >= end);
      return cutShort ? null : position === undefined ? end : Number(position) + 1;
    }
  };
  const given = /position (\d+)/.exec(firstError.message)?.[1];
  if (given !== undefined && Number(given) < text.length) return Number(given) + 1;
  if (failure(text.length) === null) return undefined;
  let low = 1;
  let high = text.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (failure(middle) === null) low = middle + 1;
    else high = middle;
  }
  return failure(low) ?? undefined;
}

/** A JSON line's object; undefined for a blank line, or with a problem for one that is not a JSON object. */
export function jsonObjectLine(
  lineText: string,
  line: number,
  problems: FileProblems,
): Record<string, unknown> | undefined {
  if (lineText.trim() === '') return undefined;
  let record: unknown;
  try {
    record = JSON.parse(lineText);
  } catch (error) {
    // Only the problems that will be shown are located: a file of bad lines fails fast.
    const column = problems.problems.length < MAX_PROBLEMS ? (jsonErrorColumn(lineText, error as Error) ?? '?') : '?';
    problems.add(line, column, `not valid JSON: ${(error as Error).message}`);
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    problems.add(line, 1, 'expected one JSON object per line');
    return undefined;
  }
  return record as Record<string, unknown>;
}

/** Where a field is on a JSON line: the column of its name's first mention, else the name (a field left out). */
export function fieldColumn(lineText: string): Where {
  return (name) => {
    const at = lineText.indexOf(`"${name}"`);
    return at === -1 ? name : at + 1;
  };
}

/** JSON lines, one at a time: each a whole line, or the first MAX_LINE_LENGTH characters of a longer one. */
class JsonLines {
  readonly checker: EventChecker;

  constructor(file: string) {
    this.checker = new EventChecker(file);
  }

  line(lineText: string, line: number, cut: boolean): Row | undefined {
    if (cut) {
      this.tooLong(lineText, line);
      return undefined;
    }
    const record = jsonObjectLine(lineText, line, this.checker);
    if (record === undefined) return undefined;
    const where = fieldColumn(lineText);
    this.checker.unknownColumns(Object.keys(record), line, where);
    return this.checker.row(record, where, line);
  }

  /** A line cut at MAX_LINE_LENGTH: the field being read where it was cut is the one too long. */
  private tooLong(start: string, line: number): void {
    const keys = [...start.matchAll(/"(\w+)"\s*:/g)];
    const last = keys[keys.length - 1];
    const limit = last ? MAX_TEXT_LENGTH.get(last[1] as string) : undefined;
    if (last && limit !== undefined)
      this.checker.add(line, last.index + 1, `${last[1]}: longer than ${limit} characters (see the README's limits)`);
    else this.checker.add(line, MAX_LINE_LENGTH, `the line is longer than ${MAX_LINE_LENGTH} characters`);
  }
}

export function parseCsvEvents(file: string, text: string): Row[] {
  const records = new CsvRecords(file);
  let rows: Row[] = [];
  try {
    rows = parseCsvText(text, csvOptions(records.onRecord)) as unknown as Row[];
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    records.parseError(error);
  }
  records.end();
  return rows;
}

export function parseJsonLinesEvents(file: string, text: string): Row[] {
  const lines = new JsonLines(file);
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((lineText, index) => {
    const cut = lineText.length > MAX_LINE_LENGTH;
    const row = lines.line(cut ? lineText.slice(0, MAX_LINE_LENGTH) : lineText, index + 1, cut);
    if (row) rows.push(row);
  });
  lines.checker.check();
  return rows;
}

function unreadable(file: string, error: unknown): InputFileError {
  return new InputFileError(
    `${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    { cause: error },
  );
}

/**
 * A CSV or JSON-lines file's rows in batches, checked as the file streams. The problems are thrown
 * once the whole file is read (after batches were handed out: the caller appends atomically, so a
 * throw appends nothing); once one is found no more rows are handed out.
 */
export async function* readEventBatches(file: string, format: Exclude<EventFormat, 'parquet'>): AsyncGenerator<Row[]> {
  const source = format === 'csv' ? csvRows(file) : jsonLineRows(file);
  let batch: Row[] = [];
  for await (const { row, checker } of source) {
    if (checker.problems.length > 0) continue;
    batch.push(row);
    if (batch.length >= BATCH_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

type Checked = { row: Row; checker: EventChecker };

async function* csvRows(file: string): AsyncGenerator<Checked> {
  const records = new CsvRecords(file);
  const stream = createReadStream(file);
  const parser = stream.pipe(parseCsvStream(csvOptions(records.onRecord)));
  stream.on('error', (error) => parser.destroy(unreadable(file, error)));
  try {
    for await (const row of parser) yield { row: row as Row, checker: records.checker };
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    records.parseError(error);
  } finally {
    stream.destroy();
  }
  records.end();
}

async function* jsonLineRows(file: string): AsyncGenerator<Checked> {
  const lines = new JsonLines(file);
  for await (const { text, line, cut } of splitLines(file)) {
    const row = lines.line(text, line, cut);
    if (row) yield { row, checker: lines.checker };
  }
  lines.checker.check();
}

/** A file's lines as they stream, each cut at `maxBytes` (MAX_LINE_LENGTH by default): a longer line is never held. */
export async function* splitLines(
  file: string,
  maxBytes = MAX_LINE_LENGTH,
): AsyncGenerator<{ text: string; line: number; cut: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let cut = false;
  let line = 0;
  const take = (piece: Buffer): void => {
    const room = maxBytes - pendingBytes;
    if (piece.length > room) cut = true;
    const kept = piece.subarray(0, Math.max(0, room));
    pending.push(kept);
    pendingBytes += kept.length;
  };
  const finish = (): { text: string; line: number; cut: boolean } => {
    const text = Buffer.concat(pending).toString('utf8').replace(/\r$/, '');
    const result = { text, line: (line += 1), cut };
    pending = [];
    pendingBytes = 0;
    cut = false;
    return result;
  };
  try {
    for await (const chunk of createReadStream(file)) {
      const buffer = chunk as Buffer;
      let start = 0;
      for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
        take(buffer.subarray(start, end));
        yield finish();
        start = end + 1;
      }
      take(buffer.subarray(start));
    }
  } catch (error) {
    throw unreadable(file, error);
  }
  if (pendingBytes > 0 || cut) yield finish();
}
