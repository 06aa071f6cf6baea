/**
 * Names that come from files and messages. A plain object answers `obj[name]` for
 * Object.prototype's own names too (`toString`, `constructor`), and JSON.parse makes `__proto__`
 * an own key that most copies silently drop: so such names are looked up with Map/Object.hasOwn
 * everywhere, and the three that reach the prototype chain itself are refused outright.
 */

/** Names refused as keys and names: they reach an object's prototype, not an entry. */
export const RESERVED_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.includes(name);
}

/**
 * The JSON path (`$.a.b[2].c`) of the first key of parsed JSON that is a reserved name, or null.
 * Walks own keys only, with its own stack: a message nested 100,000 deep must not overflow ours.
 */
export function reservedKeyPath(value: unknown): string | null {
  const stack: { value: unknown; at: string }[] = [{ value, at: '$' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: node, at } = next;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      node.forEach((item, index) => stack.push({ value: item, at: `${at}[${index}]` }));
      continue;
    }
    for (const [key, item] of Object.entries(node)) {
      if (isReservedName(key)) return `${at}.${key}`;
      stack.push({ value: item, at: `${at}.${key}` });
    }
  }
  return null;
}

/** What to say about a reserved name found at `path`. */
export function reservedNameProblem(path: string): string {
  return `${path}: ${reservedNameRule(path)}`;
}

/** What is wrong with the reserved name at `path`, without the path. */
export function reservedNameRule(path: string): string {
  return `${JSON.stringify(path.slice(path.lastIndexOf('.') + 1))} is a reserved name (${RESERVED_NAMES.join(', ')} reach JavaScript's object prototype): rename it`;
}

/**
 * A job name as the run log records it (`--etl-name`): letters, digits, `_`, `-` and `.`, up to 128
 * characters, not a reserved name. Returns the problem, or null for a valid name.
 */
export function jobNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name))
    return 'letters, digits, _, - and ., up to 128 characters, starting with a letter, digit or _';
  if (isReservedName(name)) return `not ${RESERVED_NAMES.join(', ')}`;
  return null;
}
