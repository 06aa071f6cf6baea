/** `kpis load-events`: append a file of events to the source table. */
import { UsageError } from '../../shared/errors';
import { configuredSource, loadEvents } from '../../shared/events/load-events';
import { EVENT_FORMATS, type EventFormat } from '../../shared/events/parse-events';
import { printJson, withRuntime, type Command } from '../command';
import { describeWarehouse } from '../context';

export const loadEventsCommand: Command = {
  summary: 'append a CSV, JSON-lines or Parquet file of events to the source table',
  usage: 'kpis load-events FILE [--format csv|jsonl|parquet] [--table DATASET.TABLE] [--force] [--json]',
  details: `Columns: user_id (text, required, at most 256 characters), time (timestamp, required;
no zone means UTC), event_name (text, at most 256 characters), coins_added (whole number). CSV
needs a header line; a line may hold at most 64 KiB. Every value is checked: a malformed file fails
with the line and column of its first 20 problems, and nothing is loaded. The file is read as it
streams (DuckDB reads a plain CSV itself), so memory stays bounded whatever its size.
  --format F         csv, jsonl or parquet (default: from the extension)
  --table D.T        the source table (default: the one the config reads)
  --force            load a file whose content was loaded into the table before (a second load
                     refuses it by its SHA-256, which the run log records: its events would count twice)`,
  options: { format: { type: 'string' }, table: { type: 'string' }, force: { type: 'boolean' } },
  positionals: { min: 1, max: 1, name: 'one FILE' },
  async run(values, positionals, io) {
    const format = values.format as string | undefined;
    if (format !== undefined && !EVENT_FORMATS.includes(format as EventFormat)) {
      throw new UsageError(`--format must be one of ${EVENT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
    }
    return withRuntime(values, io, async (runtime) => {
      const table = configuredSource(runtime.job, values.table as string | undefined);
      const file = positionals[0] as string;
      const result = await loadEvents(
        runtime.warehouse,
        table,
        file,
        { job: runtime.job.jobName, runId: runtime.newRunId() },
        { format: format as EventFormat | undefined, force: Boolean(values.force), username: runtime.username, clock: runtime.clock },
      );
      if (values.json) printJson(io, result);
      else io.stdout(`Loaded ${result.rows.toLocaleString('en-US')} events from ${file} into ${result.table} (${describeWarehouse(runtime.spec)}).\n`);
      return 0;
    });
  },
};
