import { describeStatement, paramNames, renderTemplate, rewriteParams, splitStatements } from '../../shared/sql';

describe('SQL text helpers', () => {
  test('splits on semicolons outside literals and comments, dropping empty statements', () => {
    const script =
      '-- header; not a split\nSELECT \'a;b\' AS x;\n/* c; */ SELECT "q;" FROM `p.d.t`;\n-- trailing comment only\n';
    expect(splitStatements(script)).toEqual([
      "-- header; not a split\nSELECT 'a;b' AS x",
      '/* c; */ SELECT "q;" FROM `p.d.t`',
    ]);
  });

  test('finds and rewrites @params but not inside literals, comments or @@system variables', () => {
    const sql = "SELECT @a, '@not', @b_2 -- @c\nFROM t WHERE x = @a AND y = @@error.message";
    expect(paramNames(sql)).toEqual(['a', 'b_2']);
    expect(rewriteParams(sql, '$')).toBe("SELECT $a, '@not', $b_2 -- @c\nFROM t WHERE x = $a AND y = @@error.message");
  });

  test('renders placeholders and refuses a missing one', () => {
    expect(renderTemplate('FROM {{source}} JOIN {{ target }}', { source: 'a.b', target: 'c.d' })).toBe(
      'FROM a.b JOIN c.d',
    );
    expect(() => renderTemplate('FROM {{nope}}', {}, 'x.sql')).toThrow('x.sql: no value for placeholder {{nope}}');
  });

  test('names a statement by its first line of code', () => {
    expect(describeStatement('-- why\n\n  MERGE INTO t AS x\nUSING s')).toBe('MERGE INTO t AS x');
  });
});
