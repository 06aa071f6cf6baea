/** `kpis report`: the HTML report. */
import { statSync } from 'node:fs';
import { UsageError } from '../../shared/errors';
import { writeReport } from '../../shared/report/page';
import { DEFAULT_REPORT_DAYS, DEFAULT_REPORT_FILE } from '../../shared/report/report';
import { selectChecks } from '../../shared/config/kpi-checks';
import { printJson, withJobRuntime, type Command } from '../command';
import { cliSettings, configuredToday, describeWarehouse, loadCliChecks, loadCliJob } from '../context';
import { listFlag, reportRange } from '../options';
import { counted } from '../../shared/plural';

export const reportCommand: Command = {
  summary:
    'write one self-contained HTML report: each check charted with its baseline and band, the ETL runs, the alerts',
  usage: 'kpis report [--from D --to D] [--checks a,b] [--kpis-config FILE] [--calendar FILE] [--out FILE] [--json]',
  details: `  --from D --to D    the days to show (default the ${DEFAULT_REPORT_DAYS} days up to yesterday; at most $KPIS_MAX_RANGE_DAYS, default 366)
  --checks a,b       only these checks (default every enabled one)
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
  --calendar FILE    the known events (default config/calendar.json, or $KPIS_CALENDAR)
  --out FILE         where to write it (default ${DEFAULT_REPORT_FILE})
Every check is judged on every day exactly as \`kpis monitor\` judges it, and drawn with its
baseline, the band inside which nothing raises, raised, lost and muted days, the calendar's
entries (shaded, with their notes), and weekends shaded; each
segment of a segmented check has its own chart. The file has no script and fetches nothing: it
opens offline, from a mail or a bucket.`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    checks: { type: 'string' },
    'kpis-config': { type: 'string' },
    calendar: { type: 'string' },
    out: { type: 'string' },
  },
  run(values, _positionals, io) {
    const settings = cliSettings(values, io);
    const job = loadCliJob(settings);
    const range = reportRange(values, configuredToday(job, settings), settings.maxRangeDays);
    const checks = selectChecks(loadCliChecks(settings), listFlag(values.checks));
    const out = (values.out as string | undefined) ?? DEFAULT_REPORT_FILE;
    // Said before the report is computed, which takes a while: a place it can never be written to.
    if (out === '') throw new UsageError('--out must name a file, got ""');
    if (isDirectory(out)) throw new UsageError(`cannot write the report to ${out}: it is a directory`);
    return withJobRuntime(job, settings, values, io, async (runtime) => {
      const written = await writeReport(
        runtime.warehouse,
        runtime.job,
        checks,
        { range, generatedAt: runtime.clock(), source: describeWarehouse(runtime.spec) },
        out,
        {
          job: 'report',
          runId: runtime.newRunId(),
        },
      );
      if (values.json) printJson(io, { ...written, start_date: range.start, end_date: range.end });
      else {
        const failed =
          written.failed.length > 0
            ? `; ${counted(written.failed.length, 'check')} could not be judged: ${written.failed.join(', ')}`
            : '';
        io.stdout(
          `Report of ${range.start}..${range.end}: ${counted(written.checks, 'check')}, ${counted(written.raised, 'raised check-day')}, ${counted(written.alerts, 'alert')}, ${counted(written.runs, 'ETL run')}${failed}.\nWritten to ${out}\n`,
        );
      }
      return 0;
    });
  },
};

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    // Not there (it is created) or not readable: the write says which.
    return false;
  }
}
