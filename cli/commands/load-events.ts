/** `kpis load-events`: append a file of events to the source table. */
import { UsageError } from '../../shared/errors';
import { configuredSource, loadEvents } from '../../shared/events/load-events';
import { configuredGa4, loadGa4Export } from '../../shared/events/load-ga4';
import { EVENT_FORMATS, type EventFormat } from '../../shared/events/parse-events';
import { printJson, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse } from '../context';

export const loadEventsCommand: Command = {
  summary: 'append a CSV, JSON-lines or Parquet file of events to the source table',
  usage: 'kpis load-events FILE [--format csv|jsonl|parquet|ga4_export] [--table DATASET.TABLE] [--force] [--json]',
  details: `Columns: user_id (text, required, at most 256 characters), time (timestamp, required;
no zone means UTC), event_name (text, at most 256 characters), coins_added (whole number). CSV
needs a header line; a line may hold at most 64 KiB. Every value is checked: a malformed file fails
with the line and column of its first 20 problems, and nothing is loaded. The file is read as it
streams (DuckDB reads a plain CSV itself), so memory stays bounded whatever its size.
  --format F         csv, jsonl or parquet (default: from the extension), or ga4_export: a
                     shard of the Google Analytics (Firebase) export as \`bq extract
                     --destination_format NEWLINE_DELIMITED_JSON\` writes it, into the embedded
                     warehouse's copy of the export (the config's source dataset): a file named
                     events_YYYYMMDD.json or events_intraday_YYYYMMDD.json replaces that shard,
                     any other name the final shards of its events' event_date. Fields the
                     mapping does not read are ignored; the file is loaded whole or not at all.
  --table D.T        the source table (default: the one the config reads)
  --force            load a file whose content was loaded into the table before (a second load
                     refuses it by its SHA-256, which the run log records: its events would count twice)`,
  options: { format: { type: 'string' }, table: { type: 'string' }, force: { type: 'boolean' } },
  positionals: { min: 1, max: 1, name: 'one FILE' },
  async run(values, positionals, io) {
    const format = values.format as string | undefined;
    if (format !== undefined && format !== 'ga4_export' && !EVENT_FORMATS.includes(format as EventFormat)) {
      throw new UsageError(`--format must be one of ${[...EVENT_FORMATS, 'ga4_export'].join(', ')}, got ${JSON.stringify(format)}`);
    }
    if (format === 'ga4_export' && (values.table !== undefined || values.force)) {
      throw new UsageError("--format ga4_export loads into the config's GA4 export dataset and replaces the shards it holds: --table and --force do not apply");
    }
    return withRuntime(cliSettings(values, io), values, io, async (runtime) => {
      if (format === 'ga4_export') {
        const file = positionals[0] as string;
        const result = await loadGa4Export(runtime.warehouse, configuredGa4(runtime.job).dataset, file);
        if (values.json) printJson(io, result);
        else {
          const shards = result.tables.map(({ table, rows }) => `${table} (${rows.toLocaleString('en-US')})`).join(', ');
          io.stdout(`Loaded ${result.rows.toLocaleString('en-US')} events from ${file} into ${result.dataset}: ${shards} (${describeWarehouse(runtime.spec)}).\n`);
        }
        return 0;
      }
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
