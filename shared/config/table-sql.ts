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
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { placeholders, renderTemplate, splitStatements } from '../sql';
import type { Warehouse } from '../warehouse/warehouse';

const TABLE_PLACEHOLDER = /^(?:[A-Za-z_]\w*|[A-Za-z_]\w*\.[A-Za-z_]\w*)$/;

/** Where an entry is, for messages: the config file, the JSON path and the SQL file. */
export interface EntryLocation {
  file: string;
  path: string;
  sqlLabel: string;
}

export function entryError(location: EntryLocation, problem: string): ConfigError {
  return new ConfigError(`${location.file}: invalid config\n  ${location.path}.sql (${location.sqlLabel}): ${problem}`);
}

/** Reads a query file: one SELECT, a trailing semicolon dropped. */
export function readQueryFile(file: string, location: EntryLocation): string {
  const text = readFileSync(file, 'utf8');
  const statements = splitStatements(text);
  if (statements.length !== 1) throw entryError(location, `must hold exactly one SELECT statement, found ${statements.length}`);
  const query = text.replace(/;\s*$/, '').replace(/\s+$/, '');
  if (!/^(SELECT|WITH)\b/i.test((statements[0] as string).replace(/^(\s*--[^\n]*\n|\s*\/\*[\s\S]*?\*\/)*/g, '').trim())) {
    throw entryError(location, 'must be a SELECT (or WITH ... SELECT) query; the strategy writes its rows');
  }
  return query;
}

/** The placeholders of a query, checked: `source` only where allowed, the rest table names. */
export function checkPlaceholders(query: string, location: EntryLocation, allowed: string[]): string[] {
  const names = placeholders(query);
  for (const name of names) {
    if (allowed.includes(name)) continue;
    if (!TABLE_PLACEHOLDER.test(name)) throw entryError(location, `{{${name}}} is not a table: use {{dataset.table}} or {{table}} (letters, digits, underscores)${allowed.length ? `, or ${allowed.map((a) => `{{${a}}}`).join(', ')}` : ''}`);
  }
  return names;
}

/** The name of each placeholder's table, as `dataset.table`. */
export function resolveTableName(name: string, ownDataset: string, configured: Map<string, string>): string {
  if (name.includes('.')) return name;
  return configured.get(name) ?? `${ownDataset}.${name}`;
}

/** Renders a query's placeholders as the engine names tables. */
export function renderQuery(
  warehouse: Pick<Warehouse, 'tableRef'>,
  query: string,
  ownDataset: string,
  configured: Map<string, string>,
  special: Record<string, string> = {},
  label = 'query',
): string {
  const values: Record<string, string> = { ...special };
  for (const name of placeholders(query)) {
    if (name in values) continue;
    const [dataset, table] = resolveTableName(name, ownDataset, configured).split('.') as [string, string];
    values[name] = warehouse.tableRef(dataset, table);
  }
  return renderTemplate(query, values, label);
}
