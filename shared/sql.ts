/**
 * Loading and rendering the SQL templates in sql/. Templates are BigQuery Standard SQL; table names
 * enter through `{{placeholders}}` rendered by the warehouse adapter, values only as `@params`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository's sql/ folder, found from both the sources and the compiled dist/. */
export const SQL_DIR = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../sql' : '../sql',
);

const templateCache = new Map<string, string>();

/** Reads a template such as 'etl/installs.sql' once per process. */
export function readSqlTemplate(name: string): string {
  let text = templateCache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(SQL_DIR, name), 'utf8');
    templateCache.set(name, text);
  }
  return text;
}

/** Reads a template from sql/ and fills its placeholders: the one way SQL files become SQL text. */
export function renderSqlFile(name: string, values: Record<string, string>): string {
  return renderTemplate(readSqlTemplate(name), values, name);
}

/** `{{name}}` or `{{dataset.table}}`, spaces allowed inside the braces. */
const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g;

/**
 * Replaces every `{{name}}` with the value `values` holds as its own: `{{toString}}` is not the
 * native function. A placeholder without a value is a programming error.
 */
export function renderTemplate(template: string, values: Record<string, string>, name = 'template'): string {
  return template.replace(PLACEHOLDER, (_match, key: string) => {
    const value = Object.hasOwn(values, key) ? values[key] : undefined;
    if (typeof value !== 'string') throw new Error(`${name}: no value for placeholder {{${key}}}`);
    return value;
  });
}

/** The placeholders a template uses, in order of first use. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((match) => match[1] as string))];
}

/**
 * Walks SQL text, calling `onCode` for each run outside string literals, quoted identifiers and
 * comments, so rewrites never touch a literal.
 */
function mapCode(
  sql: string,
  onCode: (code: string) => string,
  onOther: (text: string) => string = (text) => text,
): string {
  let out = '';
  let code = '';
  let i = 0;
  const flush = (): void => {
    out += onCode(code);
    code = '';
  };
  while (i < sql.length) {
    const end = literalOrCommentEnd(sql, i);
    if (end === -1) {
      code += sql[i] as string;
      i += 1;
    } else {
      flush();
      out += onOther(sql.slice(i, end));
      i = end;
    }
  }
  flush();
  return out;
}

/** Where the string literal, quoted identifier or comment starting at `i` ends; -1 when none starts there. */
function literalOrCommentEnd(sql: string, i: number): number {
  const ch = sql[i];
  const next = sql[i + 1];
  if (ch === "'" || ch === '"' || ch === '`') return quotedEnd(sql, i);
  if (ch === '-' && next === '-') {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end;
  }
  if (ch === '/' && next === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end === -1 ? sql.length : end + 2;
  }
  return -1;
}

/** Just past the quote closing the one at `i`, skipping backslash escapes. */
function quotedEnd(sql: string, i: number): number {
  const quote = sql[i];
  let end = i + 1;
  while (end < sql.length && sql[end] !== quote) end += sql[end] === '\\' ? 2 : 1;
  return end + 1;
}

/** Splits a script on semicolons outside literals and comments; drops empty statements. */
export function splitStatements(script: string): string[] {
  const marker = '\u0000';
  return mapCode(script, (code) => code.replaceAll(';', marker))
    .split(marker)
    .map((statement) => statement.trim())
    .filter((statement) => withoutComments(statement).trim() !== '');
}

function withoutComments(sql: string): string {
  return mapCode(
    sql,
    (code) => code,
    (text) => (text.startsWith('--') || text.startsWith('/*') ? '' : text),
  );
}

const PARAM = /(?<![@\w])@(\w+)/g;

/** The `@name` parameters a statement uses, in order of first use. */
export function paramNames(sql: string): string[] {
  const names = new Set<string>();
  mapCode(sql, (code) => {
    for (const match of code.matchAll(PARAM)) names.add(match[1] as string);
    return code;
  });
  return [...names];
}

/** Rewrites `@name` parameters to another engine's marker, e.g. DuckDB's `$name`. */
export function rewriteParams(sql: string, marker: string): string {
  return mapCode(sql, (code) => code.replace(PARAM, (_match, name: string) => `${marker}${name}`));
}

/** Renames the given `@name` parameters to `@name_suffix`, so one script can run a query for several ranges. */
export function suffixParams(sql: string, names: readonly string[], suffix: string): string {
  return mapCode(sql, (code) =>
    code.replace(PARAM, (match, name: string) => (names.includes(name) ? `@${name}_${suffix}` : match)),
  );
}

/** The first line of code in a statement, to name it in errors and logs. */
export function describeStatement(sql: string): string {
  return (
    withoutComments(sql)
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? sql.trim()
  );
}

/** Whether a statement only reads (SELECT or WITH ... SELECT): such a job can run again at no risk. */
export function isReadOnly(sql: string): boolean {
  return /^(SELECT|WITH)\b/i.test(describeStatement(sql));
}
