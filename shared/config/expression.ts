/**
 * The short form's `value` goes into `SELECT day, {{value}} AS value FROM {{table}}`: it must be
 * exactly one SQL expression. It is read token by token, as both engines read it: string literals
 * ('...', "...", a doubled quote standing for itself) and backtick identifiers are data, so
 * `'a;b'` is fine. What the engines read differently is refused: a backslash in a literal (an
 * escape on BigQuery, a character on DuckDB), triple quotes (BigQuery only), a quote inside a
 * backtick identifier (BigQuery only) and `$` (DuckDB's dollar quotes), since either engine could then find code where the other sees a literal.
 * Outside literals there is no comment, no `;`, no top-level comma (a second
 * column), no unbalanced parenthesis (closing the SELECT early), and no word that starts a query
 * (SELECT, FROM, ...), so a subquery cannot read another table. FROM is allowed only where an
 * expression takes it: EXTRACT(HOUR FROM time), TRIM, SUBSTRING, POSITION.
 */

/** Words that start or join a query: none may appear in an expression. */
const QUERY_WORDS = new Set(['SELECT', 'FROM', 'TABLE', 'WITH', 'UNION', 'INTERSECT', 'EXCEPT', 'PIVOT', 'UNPIVOT', 'SUMMARIZE', 'DESCRIBE', 'SHOW']);
/** Functions whose arguments take FROM as a separator, not as a query clause. */
const FROM_FUNCTIONS = new Set(['EXTRACT', 'TRIM', 'SUBSTRING', 'POSITION']);

/** Why `text` is not exactly one SQL expression, or null when it is. */
export function expressionProblem(text: string): string | null {
  // Placeholders are replaced everywhere in the rendered query, inside literals too.
  if (/[{}]/.test(text)) return 'no braces';
  if (text.trim() === '') return 'it is empty';
  const opened: string[] = [];
  let previousWord = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === "'" || ch === '"' || ch === '`') {
      const end = quotedEnd(text, i);
      if (typeof end === 'string') return end;
      i = end;
      previousWord = '';
      continue;
    }
    if ((ch === '-' && next === '-') || ch === '#' || (ch === '/' && next === '*')) return 'no comments';
    if (ch === '$') return "no $ (DuckDB's dollar-quoted strings and parameters)";
    if (ch === ';') return 'no ; (one expression, not a second statement)';
    if (ch === '(' || ch === '[') opened.push(ch === '(' ? previousWord : '[');
    if (ch === ')' || ch === ']') {
      if (opened.length === 0) return 'unbalanced parentheses: a ) or ] closes more than the expression opened';
      opened.pop();
    }
    if (ch === ',' && opened.length === 0) return 'a list of expressions: give one (a comma outside parentheses adds a column)';
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64))?.[0];
    if (word !== undefined && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) {
      const upper = word.toUpperCase();
      const fromAllowed = upper === 'FROM' && FROM_FUNCTIONS.has(opened.at(-1) ?? '');
      if (QUERY_WORDS.has(upper) && !fromAllowed) return `no ${upper}: a subquery or a second query could read other tables`;
      previousWord = upper;
      i += word.length;
      continue;
    }
    if (!/\s/.test(ch)) previousWord = '';
    i += 1;
  }
  if (opened.length > 0) return 'unbalanced parentheses: one is never closed';
  return null;
}

/** The index just past the literal or quoted identifier opening at `start`, or the problem with it. */
function quotedEnd(text: string, start: number): number | string {
  const quote = text[start] as string;
  if (quote !== '`' && text.startsWith(quote.repeat(3), start)) return 'no triple-quoted strings (BigQuery reads them, DuckDB does not): use one quote';
  for (let j = start + 1; j < text.length; j += 1) {
    if (text[j] === '\\') return 'no backslash in a literal (an escape on BigQuery, a character on DuckDB)';
    // DuckDB has no backtick identifiers: what is inside one must not be a literal to it either.
    if (quote === '`' && (text[j] === "'" || text[j] === '"')) return 'no quote inside a backtick identifier';
    if (text[j] !== quote) continue;
    if (text[j + 1] !== quote) return j + 1;
    j += 1; // a doubled quote stands for itself
  }
  return `an unterminated ${quote === '`' ? 'quoted identifier' : 'string'}`;
}
