/**
 * Rows that enter SQL as typed, numbered parameters (`@col_1`, `@col_2`, ...), so a statement can
 * carry several rows, and join a larger script, without any value in its text.
 */
import type { ColumnSchema } from './schema';
import type { QueryParam, QueryParams } from './warehouse/warehouse';

export interface NumberedRows {
  params: QueryParams;
  /** Per row, the parameter reference of each column, in column order: [['@ts_1', ...], ...]. */
  refs: string[][];
}

export function numberedRows(
  columns: ColumnSchema[],
  rows: Record<string, QueryParam['value'] | undefined>[],
): NumberedRows {
  const params: QueryParams = {};
  const refs = rows.map((row, index) =>
    columns.map((column) => {
      const name = `${column.name}_${index + 1}`;
      params[name] = { type: column.type, value: row[column.name] ?? null };
      return `@${name}`;
    }),
  );
  return { params, refs };
}

/** `(@a_1, @b_1),\n(@a_2, @b_2)`: the rows of an INSERT ... VALUES. */
export function valuesList(rows: NumberedRows): string {
  return rows.refs.map((refs) => `(${refs.join(', ')})`).join(',\n');
}

/** `SELECT @a_1 AS a, ... UNION ALL SELECT ...`: the rows as a query, for a MERGE source. */
export function selectList(columns: ColumnSchema[], rows: NumberedRows): string {
  return rows.refs
    .map((refs) => `SELECT ${refs.map((ref, i) => `${ref} AS ${(columns[i] as ColumnSchema).name}`).join(', ')}`)
    .join('\nUNION ALL\n');
}
