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
const QUERY_WORDS = new Set([
  'SELECT',
  'FROM',
  'TABLE',
  'WITH',
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'PIVOT',
  'UNPIVOT',
  'SUMMARIZE',
  'DESCRIBE',
  'SHOW',
]);
/** Functions whose arguments take FROM as a separator, not as a query clause. */
const FROM_FUNCTIONS = new Set(['EXTRACT', 'TRIM', 'SUBSTRING', 'POSITION']);

/** Where the reading is: the next character, the brackets open (a `(` as the word before it), the word just read. */
interface Scan {
  readonly text: string;
  i: number;
  readonly opened: string[];
  previousWord: string;
}

/** Why `text` is not exactly one SQL expression, or null when it is. */
export function expressionProblem(text: string): string | null {
  // Placeholders are replaced everywhere in the rendered query, inside literals too.
  if (/[{}]/.test(text)) return 'no braces';
  if (text.trim() === '') return 'it is empty';
  const scan: Scan = { text, i: 0, opened: [], previousWord: '' };
  while (scan.i < text.length) {
    const problem = step(scan);
    if (problem !== null) return problem;
  }
  if (scan.opened.length > 0) return 'unbalanced parentheses: one is never closed';
  return null;
}

/** Reads one literal, word or character and moves past it; its problem, or null. */
function step(scan: Scan): string | null {
  const ch = scan.text[scan.i] as string;
  if (ch === "'" || ch === '"' || ch === '`') return skipQuoted(scan);
  const problem = forbiddenAt(scan.text, scan.i) ?? bracket(scan, ch);
  if (problem !== null) return problem;
  const word = wordAt(scan.text, scan.i);
  if (word !== undefined) return readWord(scan, word);
  if (!/\s/.test(ch)) scan.previousWord = '';
  scan.i += 1;
  return null;
}

function skipQuoted(scan: Scan): string | null {
  const end = quotedEnd(scan.text, scan.i);
  if (typeof end === 'string') return end;
  scan.i = end;
  scan.previousWord = '';
  return null;
}

/** Comments, `$` and `;`: never inside one expression. */
function forbiddenAt(text: string, i: number): string | null {
  const [ch, next] = [text[i], text[i + 1]];
  if ((ch === '-' && next === '-') || ch === '#' || (ch === '/' && next === '*')) return 'no comments';
  if (ch === '$') return "no $ (DuckDB's dollar-quoted strings and parameters)";
  if (ch === ';') return 'no ; (one expression, not a second statement)';
  return null;
}

/** Opens or closes a bracket; a comma outside any is a second column. */
function bracket(scan: Scan, ch: string): string | null {
  if (ch === '(' || ch === '[') scan.opened.push(ch === '(' ? scan.previousWord : '[');
  if (ch === ')' || ch === ']') {
    if (scan.opened.length === 0) return 'unbalanced parentheses: a ) or ] closes more than the expression opened';
    scan.opened.pop();
  }
  if (ch === ',' && scan.opened.length === 0)
    return 'a list of expressions: give one (a comma outside parentheses adds a column)';
  return null;
}

/** The word starting at i (not inside another word, up to 64 characters at a time), if one does. */
function wordAt(text: string, i: number): string | undefined {
  if (/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) return undefined;
  return /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64))?.[0];
}

function readWord(scan: Scan, word: string): string | null {
  const upper = word.toUpperCase();
  const fromAllowed = upper === 'FROM' && FROM_FUNCTIONS.has(scan.opened.at(-1) ?? '');
  if (QUERY_WORDS.has(upper) && !fromAllowed)
    return `no ${upper}: a subquery or a second query could read other tables`;
  scan.previousWord = upper;
  scan.i += word.length;
  return null;
}

/** The index just past the literal or quoted identifier opening at `start`, or the problem with it. */
function quotedEnd(text: string, start: number): number | string {
  const quote = text[start] as string;
  if (quote !== '`' && text.startsWith(quote.repeat(3), start))
    return 'no triple-quoted strings (BigQuery reads them, DuckDB does not): use one quote';
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
