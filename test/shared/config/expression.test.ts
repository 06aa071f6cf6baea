/**
 * The short form's `value` is exactly one SQL expression, read with a tokenizer that knows string
 * literals, quoted identifiers and comments: what is inside a literal is data, what is outside
 * cannot start another statement, another query or another column.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expressionProblem } from '../../../shared/config/expression';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { ConfigError } from '../../../shared/errors';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-expression-'));
const shortForm = (value: string) => {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({ kpis: { coins: { table_id: 'daily_user_panel', date_column: 'date', value } } }),
  );
  return () => loadKpiChecks(file);
};

test.each([
  'SUM(coins)',
  "COUNTIF(event_name = 'a;b')",
  "COUNTIF(name = 'it''s -- not a comment /* nor this */ # nor this')",
  'SUM(`weird;col`)',
  'SUM("quoted;ident")',
  "COUNTIF(name IN ('a', 'b, c'))",
  'SUM(CASE WHEN x > 0 THEN x ELSE 0 END) / NULLIF(COUNT(*), 0)',
  'COUNT(DISTINCT EXTRACT(HOUR FROM time))',
  "COUNTIF(name = '')",
  'ARRAY_LENGTH([1, 2, 3])',
  'SUM(coins) FILTER (WHERE coins > 0)',
])('accepted: %s', (value) => {
  expect(expressionProblem(value)).toBeNull();
  expect(shortForm(value)()[0]?.query).toContain(value);
});

test.each([
  ['x UNION ALL SELECT uid FROM logs.daily_logs', 'UNION'],
  ['1 FROM logs.daily_logs', 'FROM'],
  ['(SELECT COUNT(*) FROM logs.daily_logs)', 'SELECT'],
  ['SUM(coins); DROP TABLE daily_kpis.installs', ';'],
  ['SUM(coins) -- all', 'comment'],
  ['SUM(coins) # all', 'comment'],
  ['SUM(coins) /* all */', 'comment'],
  ['SUM(coins), COUNT(*)', 'a list'],
  ['SUM(coins)) FROM t UNION ALL SELECT (1', 'parenthes'],
  ['SUM((coins)', 'parenthes'],
  ["COUNTIF(name = 'open", 'unterminated'],
  ['SUM({{table}}.coins)', 'braces'],
  ["COUNTIF(name = '{{table}}')", 'braces'],
  ['EXISTS (FROM logs.daily_logs)', 'FROM'],
  ['   ', 'empty'],
  // What one engine reads as a literal and the other as code.
  ["'\\' || (SELECT uid FROM logs.daily_logs LIMIT 1) || '\\'", 'backslash'],
  ["COUNTIF(name = '''a' || (SELECT 'x' FROM logs.daily_logs) || 'b''')", 'triple'],
  ["$$'$$ || COUNT(*) || $$'$$", '$'],
  ["SUM(`a' || (SELECT 1 FROM logs.daily_logs) || 'b`)", 'backtick'],
])('refused: %s', (value, problem) => {
  expect(expressionProblem(value)).toContain(problem);
  const load = shortForm(value);
  expect(load).toThrow(ConfigError);
  expect(load).toThrow('$.kpis.coins.value: must be one SQL expression, such as SUM(coins)');
});
