/**
 * Loads an ES module from this CommonJS code. TypeScript compiles `import()` to `require()` here,
 * and `require()` cannot load a module graph with a top-level await (vega's has one: vega-canvas
 * awaits the optional `canvas` package), so the import is written where the compiler cannot see it.
 *
 * The function's source carries a nonce: V8 caches a `new Function` by its source, with the
 * dynamic-import referrer of the first compile, so under Jest a second test file in one worker
 * imported through the first file's torn-down environment ("import a file after the Jest
 * environment has been torn down"). Each load of this module compiles its own.
 */
import { randomUUID } from 'node:crypto';

const nativeImport = new Function('specifier', `return import(specifier); // ${randomUUID()}`) as (
  specifier: string,
) => Promise<unknown>;

export function importEsm<T>(specifier: string): Promise<T> {
  return nativeImport(specifier) as Promise<T>;
}
