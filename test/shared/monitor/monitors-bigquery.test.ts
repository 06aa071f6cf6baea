/**
 * Both monitors on the BigQuery adapter, through the real client against the local REST fake: the
 * SQL BigQuery receives (backticked tables), typed parameters
 * (typed NULLs included), labels, and the alert claims in monitoring.alerts.
 */
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { loadLogChecks } from '../../../shared/config/log-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { runKpiMonitor } from '../../../shared/monitor/kpi-monitor';
import { runLogMonitor } from '../../../shared/monitor/log-monitor';
import { BigQueryWarehouse, sqlFileLabel } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import { BigQueryFake } from '../../fakes/bigquery-fake';
import { tempDir, topicMessages } from '../../helpers/history';

const NOW = new Date('2026-11-27T06:00:00Z');
let fake: BigQueryFake;
let dir: string;
let deps: Parameters<typeof runKpiMonitor>[0];

interface QueryJob {
  configuration: {
    labels: Record<string, string>;
    query: {
      query: string;
      queryParameters?: { name: string; parameterType: { type: string }; parameterValue?: { value?: string } }[];
    };
  };
}

beforeEach(async () => {
  fake = await new BigQueryFake().start();
  dir = tempDir();
  const warehouse = new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
    projectId: 'demo-project',
    location: 'US',
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  deps = {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => NOW),
    slackWebhook: async () => null,
    clock: () => NOW,
    logger: silentLogger,
  };
});
afterEach(() => fake.stop());

const queries = () => fake.jobInserts().map((request) => (request.body as QueryJob).configuration);
/** The one job sent from this SQL file, found by its sql_file label. */
function fromFile(jobs: QueryJob['configuration'][], file: string): QueryJob['configuration'] {
  const found = jobs.filter((job) => job.labels.sql_file === sqlFileLabel(file));
  if (found.length !== 1) throw new Error(`expected one job from ${file}, got ${found.length}`);
  return found[0] as QueryJob['configuration'];
}
const params = (job: QueryJob['configuration']) =>
  Object.fromEntries(
    (job.query.queryParameters ?? []).map((p) => [p.name, [p.parameterType.type, p.parameterValue?.value ?? null]]),
  );

test('kpi monitor: the coverage and the series, typed dates, and the raised alert claimed before it is published', async () => {
  const dau = loadKpiChecks().filter((check) => check.name === 'dau');
  fake.results = (_sql, labels) => {
    const days = daysBetween('2026-10-15', '2026-11-26');
    if (labels.sql_file === 'monitors-coverage' || labels.sql_file === 'monitors-dau')
      return {
        fields: [
          { name: 'day', type: 'DATE' },
          { name: 'value', type: 'INTEGER' },
        ],
        rows: days.map((day) => [day, day === '2026-11-26' ? 1500 : 1000]),
      };
    if (labels.sql_file === 'alerts-claimed')
      return { fields: [{ name: 'alert_id', type: 'STRING' }], rows: [['kpi:dau:2026-11-26']] };
    return { fields: [], rows: [] };
  };
  const outcome = await runKpiMonitor(deps, dau, {
    dates: ['2026-11-26'],
    timeZone: 'America/Los_Angeles',
    runId: 'bq-monitor',
    username: 'test',
  });
  expect(outcome.results[0]).toMatchObject({ check: 'dau', metric: 1500, previous_metric: 1000, raise_flag: true });
  expect(outcome.delivery.published).toEqual(['kpi:dau:2026-11-26']);
  expect(topicMessages(dir, TOPICS.alerts).map((m) => (m.data as { alert_id: string }).alert_id)).toEqual([
    'kpi:dau:2026-11-26',
  ]);

  const sent = queries();
  // Every job names its SQL file in a label, sanitised to BigQuery's label alphabet.
  for (const job of sent)
    expect(job.labels).toEqual({
      job: 'kpi_monitor',
      run_id: 'bq-monitor',
      sql_file: expect.stringMatching(/^[a-z0-9_-]{1,63}$/),
    });
  const coverage = fromFile(sent, 'monitors/coverage.sql');
  const series = fromFile(sent, 'monitors/dau.sql');
  expect(coverage.query.query).toContain('FROM `demo-project.daily_kpis.daily_user_panel`');
  // 28 training days, 28 more for those days' own windows (exclude_raised_days judges them too, to
  // know which raised), and the check's warm-up of 1 day before the checked day.
  // Dates, and the instants that bound them, for checks that read event time: local midnights in
  // Los Angeles, PDT (-7) before 2026-11-01 and PST (-8) after, and the zone itself.
  const zone = ['STRING', 'America/Los_Angeles'];
  expect(params(coverage)).toEqual({
    start_date: ['DATE', addDays('2026-11-26', -57)],
    end_date: ['DATE', '2026-11-26'],
    start_ts: ['TIMESTAMP', '2026-09-30T07:00:00.000Z'],
    end_ts: ['TIMESTAMP', '2026-11-27T08:00:00.000Z'],
    time_zone: zone,
  });
  expect(params(series)).toEqual({
    start_date: ['DATE', '2026-10-01'],
    end_date: ['DATE', '2026-11-26'],
    start_ts: ['TIMESTAMP', '2026-10-01T07:00:00.000Z'],
    end_ts: ['TIMESTAMP', '2026-11-27T08:00:00.000Z'],
    time_zone: zone,
  });

  const claim = fromFile(sent, 'alerts/claim.sql');
  expect(claim.query.query).toContain('MERGE INTO `demo-project.monitoring.alerts` AS t');
  expect(params(claim)).toMatchObject({
    alert_id_1: ['STRING', 'kpi:dau:2026-11-26'],
    date_1: ['DATE', '2026-11-26'],
    channel_1: ['STRING', 'pubsub'],
    raised_at_1: ['TIMESTAMP', expect.stringMatching(/^2026-11-27[T ]06:00:00/)],
  });
  expect(fake.tables.get('monitoring.alerts')).toMatchObject({ timePartitioning: { type: 'DAY', field: 'date' } });
});

test('log monitor: a typed NULL file_name, and no finished run raises no_run', async () => {
  fake.results = (_sql, labels) =>
    labels.sql_file === 'monitors-log_status'
      ? {
          fields: [
            'last_finished_at',
            'newest_run_id',
            'newest_job_name',
            'newest_at',
            'newest_log_type',
            'newest_message',
          ].map((name) => ({
            name,
            type: name.endsWith('_at') ? 'TIMESTAMP' : 'STRING',
          })),
          rows: [[null, null, null, null, null, null]],
        }
      : labels.sql_file === 'alerts-claimed'
        ? { fields: [{ name: 'alert_id', type: 'STRING' }], rows: [['pipeline:daily_kpis_etl:no_run:2026-11-27']] }
        : { fields: [], rows: [] };
  const outcome = await runLogMonitor(deps, loadLogChecks(), { runId: 'bq-logs', username: 'test' });
  expect(outcome.alerts.map((alert) => alert.alert_id)).toEqual(['pipeline:daily_kpis_etl:no_run:2026-11-27']);
  const status = fromFile(queries(), 'monitors/log_status.sql');
  expect(status.query.query).toContain('FROM `demo-project.logs.daily_logs`');
  expect(params(status)).toEqual({
    since: ['DATE', '2026-10-28'],
    job_name: ['STRING', 'daily_kpis'],
    step_name: ['STRING', 'end'],
    file_name: ['STRING', null],
    message_like: ['STRING', null],
    daily_kpis_end: ['BOOL', false],
    // The shipped check names no job_name: it also watches any job name that wrote the ETL's dataset.
    etl_writes: ['STRING', 'wrote daily_kpis.% for %'],
  });
});
