/**
 * Renders a Vega-Lite spec to an SVG string in Node: vega-lite compiles it, vega's View with the
 * 'none' renderer draws it headless (no canvas, no DOM). The libraries load once, when first used.
 */
import { importEsm } from '../esm';

type Vega = typeof import('vega');
// Its typings sit under build/, which this project's (CommonJS) module resolution does not look up by name.
type VegaLite = typeof import('vega-lite/build/index');

let libraries: Promise<{ vega: Vega; vegaLite: VegaLite }> | undefined;

function load(): Promise<{ vega: Vega; vegaLite: VegaLite }> {
  // One after the other: two module graphs sharing packages, loaded at once, trip Jest's ESM loader.
  libraries ??= importEsm<Vega>('vega').then(async (vega) => ({
    vega,
    vegaLite: await importEsm<VegaLite>('vega-lite'),
  }));
  return libraries;
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const { vega, vegaLite } = await load();
  // Vega-Lite's warnings (a conflicting scale property, say) would go to the console a person reads.
  const compiled = vegaLite.compile(spec as unknown as Parameters<VegaLite['compile']>[0], {
    logger: vega.logger(vega.None),
  }).spec;
  // No loader may reach the network: the data is inline, and a report opens offline.
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    loader: vega.loader({ mode: 'file' }),
    logLevel: vega.None,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
