/**
 * Reads an event file (CSV with a header, or JSON lines) into rows of the source table, checking
 * every value first: a malformed file fails with its line and column and nothing is loaded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputFileError, UsageError } from '../errors';
import { SOURCE_COLUMNS } from '../schema';
import { parseTimestamp } from '../timestamps';
import type { Row } from '../warehouse/warehouse';

export const EVENT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

const EXTENSIONS: Record<string, EventFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl', '.parquet': 'parquet' };

export function detectFormat(file: string): EventFormat {
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!format) {
    throw new UsageError(`${file}: cannot tell the format from the extension; use one of ${Object.keys(EXTENSIONS).join(', ')} or --format ${EVENT_FORMATS.join('|')}`);
  }
  return format;
}

/** At most this many problems are listed; one is enough to load nothing. */
/** Problems a rejected file lists; the rest are counted. */
const MAX_PROBLEMS = 20;
const COLUMN_NAMES = SOURCE_COLUMNS.map((column) => column.name);

type Problem = { line: number; column: number | string; message: string };

/** Checks one record's values, returning the row or the problems found. */
function toEventRow(record: Record<string, unknown>, where: (name: string) => number | string, line: number, problems: Problem[]): Row | undefined {
  const before = problems.length;
  const problem = (name: string, message: string): void => {
    problems.push({ line, column: where(name), message: `${name}: ${message}` });
  };
  const text = (name: string): string | null => {
    const value = record[name];
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'string') return value;
    problem(name, `expected text, got ${JSON.stringify(value)}`);
    return null;
  };
  const userId = text('user_id');
  if (userId === null && problems.length === before) problem('user_id', 'is required');
  const timeText = record.time;
  let time: string | undefined;
  if (timeText === undefined || timeText === null || timeText === '') problem('time', 'is required');
  else if (typeof timeText !== 'string' || (time = parseTimestamp(timeText)) === undefined) {
    problem('time', `expected a timestamp such as 2026-11-20T10:00:00Z, got ${JSON.stringify(timeText)}`);
  }
  const eventName = text('event_name');
  let coins: number | null = null;
  const coinsValue = record.coins_added;
  if (coinsValue !== undefined && coinsValue !== null && coinsValue !== '') {
    coins = typeof coinsValue === 'number' ? coinsValue : typeof coinsValue === 'string' && /^\s*-?\d+\s*$/.test(coinsValue) ? Number(coinsValue) : NaN;
    if (!Number.isSafeInteger(coins)) problem('coins_added', `expected a whole number, got ${JSON.stringify(coinsValue)}`);
  }
  if (problems.length > before) return undefined;
  return { user_id: userId, time: time as string, event_name: eventName, coins_added: coins };
}

function checkColumns(names: string[], line: number, problems: Problem[], where: (name: string) => number | string): void {
  for (const name of names) {
    if (!COLUMN_NAMES.includes(name)) {
      problems.push({ line, column: where(name), message: `unknown column ${JSON.stringify(name)}; the source table has ${COLUMN_NAMES.join(', ')}` });
    }
  }
}

function fail(file: string, problems: Problem[]): never {
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => `${file}:${p.line}: column ${p.column}: ${p.message}`);
  const more = problems.length > MAX_PROBLEMS ? [`... and ${problems.length - MAX_PROBLEMS} more problems`] : [];
  throw new InputFileError([`${file}: nothing loaded, the file has ${problems.length} problem(s):`, ...shown, ...more].join('\n  '));
}

export function parseCsvEvents(file: string, text: string): Row[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, skip_empty_lines: true, relax_column_count: false, bom: true, trim: true }) as unknown as typeof records;
  } catch (error) {
    const { lines, column } = error as { lines?: number; column?: number };
    throw new InputFileError(`${file}:${lines ?? '?'}: column ${column ?? '?'}: ${(error as Error).message}; nothing loaded`, { cause: error });
  }
  const [header, ...body] = records;
  if (!header) throw new InputFileError(`${file}: the file is empty; expected a header line with ${COLUMN_NAMES.join(', ')}`);
  const names = header.record.map((name) => name.trim());
  const problems: Problem[] = [];
  const where = (name: string): number => names.indexOf(name) + 1 || names.length + 1;
  checkColumns(names, header.info.lines, problems, where);
  for (const required of SOURCE_COLUMNS.filter((c) => c.required)) {
    if (!names.includes(required.name)) problems.push({ line: header.info.lines, column: where(required.name), message: `missing required column ${required.name}` });
  }
  if (problems.length > 0) fail(file, problems);
  const rows: Row[] = [];
  for (const { record, info } of body) {
    const row = toEventRow(Object.fromEntries(names.map((name, i) => [name, record[i]])), where, info.lines, problems);
    if (row) rows.push(row);
  }
  if (problems.length > 0) fail(file, problems);
  return rows;
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
      const cutShort = /end of (JSON )?input|Unterminated/i.test(message) || (position !== undefined && Number(position) >= end);
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

export function parseJsonLinesEvents(file: string, text: string): Row[] {
  const rows: Row[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((lineText, index) => {
    const line = index + 1;
    if (lineText.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(lineText);
    } catch (error) {
      // Only the problems that will be shown are located: a file of bad lines fails fast.
      const column = problems.length < MAX_PROBLEMS ? (jsonErrorColumn(lineText, error as Error) ?? '?') : '?';
      problems.push({ line, column, message: `not valid JSON: ${(error as Error).message}` });
      return;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      problems.push({ line, column: 1, message: 'expected one JSON object per line' });
      return;
    }
    const where = (name: string): number | string => {
      const at = lineText.indexOf(`"${name}"`);
      return at === -1 ? name : at + 1;
    };
    checkColumns(Object.keys(record), line, problems, where);
    const row = toEventRow(record as Record<string, unknown>, where, line, problems);
    if (row) rows.push(row);
  });
  if (problems.length > 0) fail(file, problems);
  return rows;
}

/** Reads and checks a CSV or JSON-lines file; Parquet is typed already and loaded by the engine. */
export function readEventFile(file: string, format: Exclude<EventFormat, 'parquet'>): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputFileError(`${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  return format === 'csv' ? parseCsvEvents(file, text) : parseJsonLinesEvents(file, text);
}
