/** `kpis load-events`: append a file of events to the source table. */
import { UsageError } from '../../shared/errors';
import { configuredSource, loadEvents } from '../../shared/events/load-events';
import { configuredGa4, loadGa4Export } from '../../shared/events/load-ga4';
import { EVENT_FORMATS, type EventFormat } from '../../shared/events/parse-events';
import { printJson, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse, type Io, type Runtime, type Values } from '../context';
import { counted } from '../../shared/plural';

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
                     refuses it by its SHA-256, which the run log records: its events would count twice);
                     with ga4_export, load a file without events over the shard it names (empties it)`,
  options: { format: { type: 'string' }, table: { type: 'string' }, force: { type: 'boolean' } },
  positionals: { min: 1, max: 1, name: 'one FILE' },
  async run(values, positionals, io) {
    const format = checkedFormat(values);
    const file = positionals[0] as string;
    return withRuntime(cliSettings(values, io), values, io, (runtime) =>
      format === 'ga4_export'
        ? loadGa4Shard(runtime, values, io, file)
        : loadEventFile(runtime, values, io, { file, format }),
    );
  },
};

/** --format, if given, one of the event formats or ga4_export; ga4_export without --table. */
function checkedFormat(values: Values): EventFormat | 'ga4_export' | undefined {
  const format = values.format as string | undefined;
  if (format !== undefined && format !== 'ga4_export' && !EVENT_FORMATS.includes(format as EventFormat)) {
    throw new UsageError(
      `--format must be one of ${[...EVENT_FORMATS, 'ga4_export'].join(', ')}, got ${JSON.stringify(format)}`,
    );
  }
  if (format === 'ga4_export' && values.table !== undefined) {
    throw new UsageError(
      "--format ga4_export loads into the config's GA4 export dataset and replaces the shards it holds: --table does not apply",
    );
  }
  return format as EventFormat | 'ga4_export' | undefined;
}

/** A shard of the GA4 export into the config's copy of the export, replacing what it holds. */
async function loadGa4Shard(runtime: Runtime, values: Values, io: Io, file: string): Promise<number> {
  const context = { job: runtime.job.jobName, runId: runtime.newRunId() };
  const result = await loadGa4Export(runtime.warehouse, configuredGa4(runtime.job).dataset, file, {
    force: Boolean(values.force),
    context,
  });
  if (values.json) printJson(io, result);
  else {
    const shards = result.tables.map(({ table, rows }) => `${table} (${rows.toLocaleString('en-US')})`).join(', ');
    io.stdout(
      `Loaded ${counted(result.rows, 'event', 'events', result.rows.toLocaleString('en-US'))} from ${file} into ${result.dataset}: ${shards} (${describeWarehouse(runtime.spec)}).\n`,
    );
  }
  return 0;
}

/** A file of events appended to the source table (the config's, or --table). */
async function loadEventFile(
  runtime: Runtime,
  values: Values,
  io: Io,
  load: { file: string; format: EventFormat | undefined },
): Promise<number> {
  const table = configuredSource(runtime.job, values.table as string | undefined);
  const result = await loadEvents(
    runtime.warehouse,
    table,
    load.file,
    { job: runtime.job.jobName, runId: runtime.newRunId() },
    { format: load.format, force: Boolean(values.force), username: runtime.username, clock: runtime.clock },
  );
  if (values.json) printJson(io, result);
  else
    io.stdout(
      `Loaded ${counted(result.rows, 'event', 'events', result.rows.toLocaleString('en-US'))} from ${load.file} into ${result.table} (${describeWarehouse(runtime.spec)}).\n`,
    );
  return 0;
}
