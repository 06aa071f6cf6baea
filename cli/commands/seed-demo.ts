/** `kpis seed-demo`: the synthetic demo events. */
import { UsageError } from '../../shared/errors';
import { configuredSource } from '../../shared/events/load-events';
import { DEMO_DAYS, seedDemo } from '../../shared/events/seed-demo';
import { printJson, withRuntime, type Command } from '../command';
import { today } from '../context';

export const seedDemoCommand: Command = {
  summary: 'generate deterministic synthetic game events into the source table',
  usage: 'kpis seed-demo [--days N] [--replace] [--json]',
  details: `Weekly rhythm, steady growth, and an install spike on the latest complete day.
  --days N           days of history ending today (default ${DEMO_DAYS})
  --replace          delete the source table's events first (it refuses to add to existing ones)`,
  options: { days: { type: 'string' }, replace: { type: 'boolean' } },
  async run(values, _positionals, io) {
    const days = values.days === undefined ? DEMO_DAYS : Number(values.days);
    if (!Number.isInteger(days) || days < 2 || days > 3660) throw new UsageError(`--days must be a whole number from 2 to 3660, got ${JSON.stringify(values.days)}`);
    return withRuntime(values, io, async (runtime) => {
      const result = await seedDemo(
        runtime.warehouse,
        configuredSource(runtime.job),
        { today: today(runtime.clock, runtime.job.timeZone), now: runtime.clock(), days, whenNotEmpty: values.replace ? 'replace' : 'refuse' },
        { job: runtime.job.jobName, runId: runtime.newRunId() },
      );
      if (values.json) printJson(io, { ...result, days });
      else io.stdout(`Seeded ${result.rows.toLocaleString('en-US')} demo events for ${result.first_date}..${result.last_date} into ${result.table}.\n`);
      return 0;
    });
  },
};
