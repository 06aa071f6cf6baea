/**
 * Names from config files that an object also answers for: Object.prototype's own names
 * (`toString`, `hasOwnProperty`, ...) work as any other name or give the config error any other
 * name would; `__proto__`, `constructor` and `prototype` are refused with the file and the path.
 * Never a TypeError, and never a native function rendered into SQL.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { loadLogChecks } from '../../../shared/config/log-checks';
import { placeholderValues, QUERY_PARAMS, rangeParams, renderQuery } from '../../../shared/config/table-sql';
import { ConfigError } from '../../../shared/errors';
import { renderTemplate } from '../../../shared/sql';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-prototype-names-'));
function configFile(text: string): string {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, text);
  return file;
}
writeFileSync(
  path.join(folder, 'check.sql'),
  'SELECT date AS day, COUNT(*) AS value FROM {{daily_user_panel}} GROUP BY date',
);
writeFileSync(
  path.join(folder, 'table.sql'),
  'SELECT DATE(time) AS date, COUNT(*) AS n FROM {{source}} WHERE time >= @start_ts GROUP BY 1',
);
const customTable = '{"sql": "table.sql", "strategy": "replace_days", "schema": {"date": "DATE", "n": "INT64"}}';
const loudly = (load: () => unknown): string => {
  try {
    load();
    return 'loaded';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
};

describe.each(['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'])(
  '%s, a name Object.prototype answers for',
  (name) => {
    test('as a check of the built-in form: not a built-in series, like any unknown name', () => {
      const file = configFile(`{"kpis": {"${name}": {}}}`);
      expect(loudly(() => loadKpiChecks(file))).toContain(
        `$.kpis.${name}: is not a built-in series (dau, installs, last_activity, events)`,
      );
      expect(loudly(() => loadKpiChecks(configFile(`{"kpis": {"dau": {"metric": "${name}"}}}`)))).toContain(
        `$.kpis.dau.metric: must be one of dau, installs`,
      );
    });

    test('as a check with its own SQL or the short form: loads and runs like any other name', () => {
      const checks = loadKpiChecks(
        configFile(
          `{"kpis": {"${name}": {"sql": "check.sql"}, "b": {"table_id": "${name}", "date_column": "date", "value": "SUM(n)"}}}`,
        ),
      );
      expect(checks.map((check) => [check.name, check.table_id])).toEqual([
        [name, null],
        ['b', name],
      ]);
    });

    test('as a table: not a built-in one, like any unknown name; with its own SQL it loads', () => {
      expect(loudly(() => loadEtlConfig(configFile(`{"g": {"kpis": {"${name}": {}}}}`)))).toContain(
        `$.kpis.${name}.sql: is required: ${name} is not a built-in table`,
      );
      expect(
        loadEtlConfig(configFile(`{"g": {"kpis": {"${name}": ${customTable}}}}`)).tables.map((table) => table.name),
      ).toEqual([name]);
    });

    test('as a query parameter: a config error naming the parameters a query gets', () => {
      writeFileSync(
        path.join(folder, `param-${name}.sql`),
        `SELECT date AS day, COUNT(*) AS value FROM {{daily_user_panel}} WHERE date >= @${name} GROUP BY date`,
      );
      const message = loudly(() => loadKpiChecks(configFile(`{"kpis": {"c": {"sql": "param-${name}.sql"}}}`)));
      expect(message).toContain(
        `$.kpis.c.sql (param-${name}.sql): @${name}: a query gets only the parameters @start_date, @end_date`,
      );
    });

    test('as a placeholder: the table of that name, never the native function', () => {
      const tableRef = (dataset: string, table: string) => `${dataset}.${table}`;
      expect(renderQuery({ tableRef }, `SELECT * FROM {{${name}}}`, 'daily_kpis', new Map())).toBe(
        `SELECT * FROM daily_kpis.${name}`,
      );
      expect(placeholderValues({ tableRef }, `{{${name}}}`, 'd', new Map())).toEqual({ [name]: `d.${name}` });
      expect(() => renderTemplate(`SELECT {{${name}}}`, {}, 'x.sql')).toThrow(
        `x.sql: no value for placeholder {{${name}}}`,
      );
    });
  },
);

test('the parameters a config query may use are the ones every run gives it', () => {
  expect(Object.keys(rangeParams({ start: '2026-11-01', end: '2026-11-02' }, 'UTC'))).toEqual(QUERY_PARAMS);
});

describe.each(['__proto__', 'constructor', 'prototype'])('%s, a name that reaches the prototype itself', (name) => {
  test.each([
    ['a check', () => loadKpiChecks(configFile(`{"kpis": {"dau": {}, "${name}": {}}}`)), `$.kpis.${name}`],
    [
      "a check in the cron job's shape",
      () => loadKpiChecks(configFile(`{"g": {"kpis": {"${name}": {"table_id": "installs"}}}}`)),
      `$.g.kpis.${name}`,
    ],
    [
      'a field of a check',
      () => loadKpiChecks(configFile(`{"kpis": {"dau": {"${name}": {"metric": "dau"}}}}`)),
      `$.kpis.dau.${name}`,
    ],
    [
      'a table',
      () => loadEtlConfig(configFile(`{"g": {"kpis": {"installs": {}, "${name}": {}}}}`)),
      `$.g.kpis.${name}`,
    ],
    ['a job group', () => loadEtlConfig(configFile(`{"${name}": {"kpis": {"installs": {}}}}`)), `$.${name}`],
    [
      'a schema column',
      () =>
        loadEtlConfig(
          configFile(
            `{"g": {"kpis": {"t": {"sql": "table.sql", "strategy": "replace_days", "schema": {"date": "DATE", "${name}": "INT64"}}}}}`,
          ),
        ),
      `$.g.kpis.t.schema.${name}`,
    ],
    [
      'a log check',
      () => loadLogChecks(configFile(`{"logs": {"a": {"thresh_in_hours": 1}, "${name}": {"thresh_in_hours": 2}}}`)),
      `$.logs.${name}`,
    ],
  ])('as %s: a config error naming the file and the path', (_what, load, where) => {
    const message = loudly(load);
    expect(message).toContain(`: invalid config`);
    expect(message).toContain(`${where}: "${name}" is a reserved name`);
    expect(message).toMatch(/^\/.*\.json: /);
  });

  test('as a placeholder in a SQL file: a config error, not a prototype written to', () => {
    writeFileSync(path.join(folder, `reserved-${name}.sql`), `SELECT date AS day, 1 AS value FROM {{${name}}}`);
    const message = loudly(() => loadKpiChecks(configFile(`{"kpis": {"c": {"sql": "reserved-${name}.sql"}}}`)));
    expect(message).toContain(`$.kpis.c.sql (reserved-${name}.sql): {{${name}}} is a reserved name`);
  });
});
