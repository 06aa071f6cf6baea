/**
 * The SQL of a table or check entry: one SELECT in a file, reading tables through placeholders.
 *
 * - `{{source}}` (tables only): the entry's source table, `dataset_src.table_src`;
 * - `{{dataset.table}}`: that table;
 * - `{{name}}`: the configured KPI table of that name, else the table of that name in the
 *   entry's own dataset.
 *
 * A table that reads another configured table depends on it: a run writes dependencies first, and
 * a cycle is a config error. Checked when the config loads, before any table is touched.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { InvalidConfigError, type ConfigError, type SqlPosition } from '../errors';
import { isReservedName, RESERVED_NAMES } from './names';
import { addDays, startOfDayIn, type DateRange } from '../dates';
import { paramNames, placeholders, renderTemplate, splitStatements } from '../sql';
import type { QueryParams, Warehouse } from '../warehouse/warehouse';

const TABLE_PLACEHOLDER = /^(?:[A-Za-z_]\w*|[A-Za-z_]\w*\.[A-Za-z_]\w*)$/;

/** Where an entry is, for messages: the config file, the JSON path and the SQL file. */
export interface EntryLocation {
  file: string;
  path: string;
  sqlLabel: string;
}

export function entryError(location: EntryLocation, problem: string): ConfigError {
  return new InvalidConfigError(location.file, { path: `${location.path}.sql`, sqlLabel: location.sqlLabel, problem });
}

/**
 * The SQL file a config entry names, relative to the config file's folder: it must exist and stay
 * inside that folder, as written and once symbolic links are followed (real paths compared), so
 * a link cannot reach a file outside it. `fail(problem)` reports against the entry's `sql` field.
 */
export function configSqlFile(configFile: string, sql: string, fail: (problem: string) => never): string {
  const folder = path.dirname(path.resolve(configFile));
  const resolved = path.resolve(folder, sql);
  const outside = `${JSON.stringify(sql)} is outside the config's folder ${folder}`;
  if (!isInside(folder, resolved)) fail(outside);
  if (!existsSync(resolved)) fail(`${JSON.stringify(sql)}: no such file (${resolved})`);
  if (!isInside(realpathSync(folder), realpathSync(resolved)))
    fail(`${outside} (a symbolic link to ${realpathSync(resolved)})`);
  return resolved;
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Reads a query file: one SELECT, a trailing semicolon dropped. */
export function readQueryFile(file: string, location: EntryLocation): string {
  const text = readFileSync(file, 'utf8');
  const statements = splitStatements(text);
  if (statements.length !== 1)
    throw entryError(location, `must hold exactly one SELECT statement, found ${statements.length}`);
  const query = text.replace(/;\s*$/, '').replace(/\s+$/, '');
  if (
    !/^(SELECT|WITH)\b/i.test((statements[0] as string).replace(/^(\s*--[^\n]*\n|\s*\/\*[\s\S]*?\*\/)*/g, '').trim())
  ) {
    throw entryError(location, 'must be a SELECT (or WITH ... SELECT) query; the strategy writes its rows');
  }
  return query;
}

/** The parameters every table and check query gets (rangeParams below). */
export const QUERY_PARAMS: readonly string[] = ['start_date', 'end_date', 'start_ts', 'end_ts', 'time_zone'];

/**
 * The parameters every table and check query may use: the run's days, the instants that bound
 * them (local midnights in the business zone, so a daylight-saving day spans 23 or 25 hours), and
 * the zone itself for `DATE(DATETIME(time, @time_zone))`.
 */
export function rangeParams(range: DateRange, timeZone: string): QueryParams {
  return {
    start_date: { type: 'DATE', value: range.start },
    end_date: { type: 'DATE', value: range.end },
    start_ts: { type: 'TIMESTAMP', value: startOfDayIn(range.start, timeZone) },
    end_ts: { type: 'TIMESTAMP', value: startOfDayIn(addDays(range.end, 1), timeZone) },
    time_zone: { type: 'STRING', value: timeZone },
  };
}

/**
 * The placeholders of a query, checked: `source` only where allowed, the rest table names. Its
 * `@params` are checked too: one it is not given (`@toString` included) is a config error here,
 * not a failure of the first run.
 */
export function checkPlaceholders(query: string, location: EntryLocation, allowed: string[]): string[] {
  const unknown = paramNames(query).filter((param) => !QUERY_PARAMS.includes(param));
  if (unknown.length > 0)
    throw entryError(
      location,
      `@${unknown.join(', @')}: a query gets only the parameters @${QUERY_PARAMS.join(', @')}`,
    );
  const names = placeholders(query);
  for (const name of names) {
    if (name.split('.').some(isReservedName))
      throw entryError(
        location,
        `{{${name}}} is a reserved name (${RESERVED_NAMES.join(', ')} reach JavaScript's object prototype)`,
      );
    if (allowed.includes(name)) continue;
    if (!TABLE_PLACEHOLDER.test(name))
      throw entryError(
        location,
        `{{${name}}} is not a table: use {{dataset.table}} or {{table}} (letters, digits, underscores)${allowed.length ? `, or ${allowed.map((a) => `{{${a}}}`).join(', ')}` : ''}`,
      );
  }
  return names;
}

/** The name of each placeholder's table, as `dataset.table`. */
export function resolveTableName(name: string, ownDataset: string, configured: ReadonlyMap<string, string>): string {
  if (name.includes('.')) return name;
  return configured.get(name) ?? `${ownDataset}.${name}`;
}

/** What each placeholder of a query renders as on this engine. */
export function placeholderValues(
  warehouse: Pick<Warehouse, 'tableRef'>,
  query: string,
  ownDataset: string,
  configured: ReadonlyMap<string, string>,
  special: Record<string, string> = {},
): Record<string, string> {
  // A Map: a placeholder's name is the config's, and `{{toString}}` must not find Object's.
  const values = new Map(Object.entries(special));
  for (const name of placeholders(query)) {
    if (values.has(name)) continue;
    const [dataset, table] = resolveTableName(name, ownDataset, configured).split('.') as [string, string];
    values.set(name, warehouse.tableRef(dataset, table));
  }
  return Object.fromEntries(values);
}

/**
 * What a table entry's placeholders render as: `{{source}}` is its source table, as `warehouse`
 * names it (a run names it through shared/etl/sources.ts readingSources: a subquery adding the
 * canonical columns the table lacks, or the GA4 export's mapping).
 */
export function tableQueryValues(
  warehouse: Pick<Warehouse, 'tableRef'>,
  table: { query: string; dataset_src: string; table_src: string; dataset_dst: string },
  configured: Map<string, string>,
): Record<string, string> {
  return placeholderValues(warehouse, table.query, table.dataset_dst, configured, {
    source: warehouse.tableRef(table.dataset_src, table.table_src),
  });
}

/** What a check's placeholders render as: `{{table}}` is its own table, when it has one. */
export function checkQueryValues(
  warehouse: Pick<Warehouse, 'tableRef'>,
  check: { query: string; dataset: string; table_id: string | null },
): Record<string, string> {
  const own: Record<string, string> =
    check.table_id === null ? {} : { table: warehouse.tableRef(check.dataset, check.table_id) };
  return placeholderValues(warehouse, check.query, check.dataset, new Map(), own);
}

/** Renders a query's placeholders as the engine names tables. */
export function renderQuery(
  warehouse: Pick<Warehouse, 'tableRef'>,
  query: string,
  ownDataset: string,
  configured: ReadonlyMap<string, string>,
  special: Record<string, string> = {},
  label = 'query',
): string {
  return renderTemplate(query, placeholderValues(warehouse, query, ownDataset, configured, special), label);
}

/**
 * Maps a position in a rendered query back to its template: lines are the same, and a column
 * moves by what each placeholder before it grew or shrank (inside one, it points at its `{{`).
 */
export function templatePosition(template: string, values: Record<string, string>, position: SqlPosition): SqlPosition {
  const line = template.split('\n')[position.line - 1];
  if (line === undefined) return position;
  const target = position.column - 1;
  let templateAt = 0;
  let renderedAt = 0;
  for (const match of line.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)) {
    const literal = (match.index as number) - templateAt;
    if (target < renderedAt + literal) return { line: position.line, column: templateAt + (target - renderedAt) + 1 };
    renderedAt += literal;
    templateAt = match.index as number;
    const value = Object.hasOwn(values, match[1] as string) ? (values[match[1] as string] as string) : match[0];
    if (target < renderedAt + value.length) return { line: position.line, column: templateAt + 1 };
    renderedAt += value.length;
    templateAt += match[0].length;
  }
  return { line: position.line, column: templateAt + (target - renderedAt) + 1 };
}
