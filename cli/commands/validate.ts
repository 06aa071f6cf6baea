/** `kpis validate`: every table and check query checked on the warehouse. */
import { loadKpiChecks } from '../../shared/config/kpi-checks';
import { loadLogChecks } from '../../shared/config/log-checks';
import { loadCalendar } from '../../shared/config/calendar';
import { namingSettingFiles } from '../../shared/config/validate';
import { checkQueries, describeProblems } from '../../shared/config/check-queries';
import { printJson, table, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse, type Io, type Runtime } from '../context';
import { formatBytes } from '../output';

export const validateCommand: Command = {
  summary: 'check every config, and every table and check query on the warehouse, before a run or a deploy',
  usage: 'kpis validate [--kpis-config FILE] [--log-config FILE] [--calendar FILE] [--json]',
  details: `Loads the config files (the calendar too), renders every SQL file, and checks each table and check query on
the warehouse: DuckDB runs it limited to no rows, BigQuery dry-runs it (and this prints what it
would read). A table's columns must match its schema, in order; a check's query must return day
(DATE), value (a number) and optionally segment (STRING). Missing KPI tables are created empty
first, as \`kpis init\` does, so queries that read them can be checked. Every problem names the
config file, the entry, and the SQL file with line and column. Exit code 2 on any problem.
  --kpis-config FILE the checks (default config/kpis_config.json, or $KPIS_MONITOR_CONFIG)
  --log-config FILE  the run-log checks (default config/log_config.json, or $KPIS_LOG_CONFIG)
  --calendar FILE    the known events (default config/calendar.json, or $KPIS_CALENDAR)`,
  options: { 'kpis-config': { type: 'string' }, 'log-config': { type: 'string' }, calendar: { type: 'string' } },
  run(values, _positionals, io) {
    const settings = cliSettings(values, io);
    const kpisFile = settings.kpisConfig;
    const checks = namingSettingFiles(settings, () => {
      const kpiChecks = loadKpiChecks(kpisFile);
      loadLogChecks(settings.logConfig);
      loadCalendar(
        settings.calendar,
        kpiChecks.map((check) => check.name),
      );
      return kpiChecks;
    });
    return withRuntime(settings, values, io, async (runtime) => {
      const results = await checkQueries(
        runtime.warehouse,
        runtime.job,
        { file: kpisFile, checks },
        { job: 'validate', runId: runtime.newRunId() },
      );
      const problems = describeProblems(results);
      if (values.json) printJson(io, results);
      else printResults(io, runtime, results, problems.length);
      if (problems.length === 0) return 0;
      io.stderr(`${problems.join('\n')}\n`);
      return 2;
    });
  },
};

/** The human output: one row per query, then whether every one is valid. */
function printResults(
  io: Io,
  runtime: Runtime,
  results: Awaited<ReturnType<typeof checkQueries>>,
  problems: number,
): void {
  const rows = results.map((result) => [
    result.kind,
    result.entry.replace(/^\$\.kpis\./, ''),
    result.sql,
    result.problems.length === 0 ? 'ok' : `${result.problems.length} problem(s)`,
    result.bytes_processed === null ? '-' : formatBytes(result.bytes_processed),
  ]);
  io.stdout(
    `Queries on ${describeWarehouse(runtime.spec)}:\n\n${table(['kind', 'entry', 'sql', 'result', 'reads'], rows, [0, 1, 2, 3])}\n\n`,
  );
  io.stdout(problems === 0 ? `All ${results.length} queries are valid.\n` : `${problems} problem(s): see below.\n`);
}
