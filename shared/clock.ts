/** The clock every entry point uses: the CLI, the functions and the local stack. */

/**
 * Real time; or, from `now` ($KPIS_NOW, read by shared/settings.ts), time that starts at that
 * instant and runs on from there. Days stay reproducible for demos and tests, and rows written one
 * after the other still get distinct, ordered timestamps.
 */
export function clockFrom(now: Date | undefined): () => Date {
  if (now === undefined) return () => new Date();
  const offset = now.getTime() - Date.now();
  return () => new Date(Date.now() + offset);
}
