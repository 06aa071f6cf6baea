/**
 * Loads an ES module from this CommonJS code. TypeScript compiles `import()` to `require()` here,
 * and `require()` cannot load a module graph with a top-level await (vega's has one: vega-canvas
 * awaits the optional `canvas` package), so the import is written where the compiler cannot see it.
 */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

export function importEsm<T>(specifier: string): Promise<T> {
  return nativeImport(specifier) as Promise<T>;
}
