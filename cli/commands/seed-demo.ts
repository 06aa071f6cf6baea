/** `kpis seed-demo`: the synthetic demo events. */
import { UsageError } from '../../shared/errors';
import { configuredSource } from '../../shared/events/load-events';
import { configuredGa4, seedGa4Demo } from '../../shared/events/load-ga4';
import { DEMO_DAYS, seedDemo } from '../../shared/events/seed-demo';
import { printJson, withRuntime, type Command } from '../command';
import { cliSettings, today, type Io, type Runtime, type Values } from '../context';
import { counted } from '../../shared/plural';

export const seedDemoCommand: Command = {
  summary: 'generate deterministic synthetic game events into the source table',
  usage: 'kpis seed-demo [--days N] [--replace] [--format events|ga4_export] [--json]',
  details: `Weekly rhythm, steady growth, and an install spike on the latest complete day.
  --days N           days of history ending today (default ${DEMO_DAYS})
  --replace          delete the source table's events first (it refuses to add to existing ones);
                     with ga4_export, write the demo's days over the shards already there
  --format F         events (default): the source table; ga4_export: the same events as a
                     Google Analytics (Firebase) export in the config's source dataset, final
                     shards events_YYYYMMDD (property zone UTC) up to yesterday and today's
                     events_intraday_YYYYMMDD, coins in the source's value_param (embedded
                     warehouse only)`,
  options: { days: { type: 'string' }, replace: { type: 'boolean' }, format: { type: 'string' } },
  async run(values, _positionals, io) {
    const days = values.days === undefined ? DEMO_DAYS : Number(values.days);
    if (!Number.isInteger(days) || days < 2 || days > 3660)
      throw new UsageError(`--days must be a whole number from 2 to 3660, got ${JSON.stringify(values.days)}`);
    const format = (values.format as string | undefined) ?? 'events';
    if (format !== 'events' && format !== 'ga4_export')
      throw new UsageError(`--format must be one of events, ga4_export, got ${JSON.stringify(format)}`);
    return withRuntime(cliSettings(values, io), values, io, (runtime) =>
      format === 'ga4_export' ? seedExport(runtime, values, io, days) : seedEvents(runtime, values, io, days),
    );
  },
};

/** The demo's events as GA4 export shards in the config's source dataset. */
async function seedExport(runtime: Runtime, values: Values, io: Io, days: number): Promise<number> {
  const options = {
    today: today(runtime.clock, runtime.job.timeZone),
    now: runtime.clock(),
    days,
    replace: Boolean(values.replace),
  };
  const result = await seedGa4Demo(runtime.warehouse, configuredGa4(runtime.job), options);
  if (values.json) printJson(io, { ...result, days });
  else
    io.stdout(
      `Seeded ${result.rows.toLocaleString('en-US')} demo events for ${result.first_date}..${result.last_date} into ${counted(result.tables.length, 'shard')} of ${result.dataset}.\n`,
    );
  return 0;
}

/** The demo's events into the source table. */
async function seedEvents(runtime: Runtime, values: Values, io: Io, days: number): Promise<number> {
  const result = await seedDemo(
    runtime.warehouse,
    configuredSource(runtime.job),
    {
      today: today(runtime.clock, runtime.job.timeZone),
      now: runtime.clock(),
      days,
      whenNotEmpty: values.replace ? 'replace' : 'refuse',
    },
    { job: runtime.job.jobName, runId: runtime.newRunId() },
  );
  if (values.json) printJson(io, { ...result, days });
  else
    io.stdout(
      `Seeded ${result.rows.toLocaleString('en-US')} demo events for ${result.first_date}..${result.last_date} into ${result.table}.\n`,
    );
  return 0;
}
