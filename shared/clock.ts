/** The clock every entry point uses: the CLI, the functions and the local stack. */
import { UsageError } from './errors';

/**
 * Real time; or, with KPIS_NOW (an ISO timestamp), time that starts at that instant and runs on
 * from there. Days stay reproducible for demos and tests, and rows written one after the other
 * still get distinct, ordered timestamps.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv): () => Date {
  const pinned = env.KPIS_NOW;
  if (pinned === undefined || pinned === '') return () => new Date();
  const instant = new Date(pinned);
  if (Number.isNaN(instant.getTime())) throw new UsageError(`KPIS_NOW must be an ISO timestamp such as 2026-11-27T06:00:00Z, got ${JSON.stringify(pinned)}`);
  const offset = instant.getTime() - Date.now();
  return () => new Date(Date.now() + offset);
}
