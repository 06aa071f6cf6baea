/** The log monitor on DuckDB: a missing, a stale, a failed and a fresh run of the ETL. */
import { loadLogChecks, type LogCheck } from '../../../shared/config/log-checks';
import { writeRunLog, type RunLogStep } from '../../../shared/etl/run-log';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { judgeLog, runLogMonitor } from '../../../shared/monitor/log-monitor';
import { RUN_LOG_TABLE } from '../../../shared/schema';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir, topicMessages } from '../../helpers/history';
import { openMemoryWarehouse } from '../../helpers/warehouse';

const NOW = new Date('2026-11-27T09:00:00Z');
const checks = loadLogChecks();

let warehouse: DuckDbWarehouse;
let dir: string;

beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
  dir = tempDir();
});
afterEach(() => warehouse.close());

function deps() {
  return {
    warehouse,
    publisher: new LocalTopicPublisher(dir, () => NOW),
    slackWebhook: async () => null,
    clock: () => NOW,
    logger: silentLogger,
  };
}

/** An ETL run as the ETL writes it: start and end rows, or start and error rows. */
async function etlRun(uid: string, at: string, outcome: 'end' | 'error', jobName = 'daily_kpis'): Promise<void> {
  const steps: RunLogStep[] = [
    { step: 'start', logType: 'start', at: new Date(at), message: 'ETL for a day' },
    outcome === 'end'
      ? { step: 'end', logType: 'end', at: new Date(new Date(at).getTime() + 60_000), message: 'ETL succeeded' }
      : {
          step: 'error',
          logType: 'error',
          at: new Date(new Date(at).getTime() + 60_000),
          message: 'Binder Error: table gamepltx.fact does not exist',
        },
  ];
  await warehouse.ensureTable(RUN_LOG_TABLE);
  await writeRunLog(warehouse, { runId: uid, jobName, jobType: 'etl', username: 'test' }, steps);
}

test('no run at all raises no_run (the seed raised nothing then)', async () => {
  await etlRun('other-job', '2026-11-27T05:00:00Z', 'end', 'some_other_job');
  const outcome = await runLogMonitor(deps(), checks, { runId: 'm1', username: 'test' });
  expect(outcome.results.map((r) => [r.method, r.raise_flag, r.reason])).toEqual([
    ['freshness', true, 'no_run'],
    ['last_run', false, null],
  ]);
  expect(outcome.results[0]?.message).toBe(
    'daily_kpis_etl: no end row of daily_kpis in the run log in the last 30 days: the job has not run',
  );
  expect(outcome.alerts.map((a) => a.alert_id)).toEqual(['pipeline:daily_kpis_etl:no_run:2026-11-27']);
  const [message] = topicMessages(dir, TOPICS.alerts);
  expect(message?.attributes).toEqual({ kind: 'pipeline', check: 'daily_kpis_etl', severity: 'error' });
  expect(message?.data).toMatchObject({
    kind: 'pipeline',
    check: 'daily_kpis_etl',
    method: 'no_run',
    date: '2026-11-27',
    table: 'logs.daily_logs',
    threshold: 26,
  });
});

test('a finished run older than thresh_in_hours raises stale, with the hours', async () => {
  await etlRun('old', '2026-11-26T06:00:00Z', 'end');
  const [freshness] = (await runLogMonitor(deps(), checks, { runId: 'm2', username: 'test' })).results;
  expect(freshness).toMatchObject({
    raise_flag: true,
    reason: 'stale',
    metric: 27,
    threshold: 26,
    last_finished_at: '2026-11-26T06:01:00.000Z',
  });
  expect(freshness?.message).toBe(
    'daily_kpis_etl: daily_kpis has not finished a run for 27 hours (last at 2026-11-26T06:01:00.000Z, threshold 26 h)',
  );
});

test('a newest run that ended in error raises failed_run, even when an earlier run is fresh', async () => {
  await etlRun('good', '2026-11-27T01:00:00Z', 'end');
  await etlRun('bad', '2026-11-27T06:00:00Z', 'error');
  const outcome = await runLogMonitor(deps(), checks, { runId: 'm3', username: 'test' });
  expect(outcome.results.map((r) => [r.method, r.raise_flag])).toEqual([
    ['freshness', false],
    ['last_run', true],
  ]);
  expect(outcome.results[1]).toMatchObject({ newest_run_id: 'bad', newest_run_status: 'failed', reason: 'failed_run' });
  expect(outcome.results[1]?.message).toContain('failed: Binder Error: table gamepltx.fact does not exist');
  expect(outcome.alerts.map((a) => a.alert_id)).toEqual(['pipeline:daily_kpis_etl:failed_run:2026-11-27']);
});

test('a fresh, successful run raises nothing, and the monitor logs itself', async () => {
  await etlRun('bad-earlier', '2026-11-26T06:00:00Z', 'error');
  await etlRun('good-now', '2026-11-27T06:00:00Z', 'end');
  const outcome = await runLogMonitor(deps(), checks, { runId: 'm4', username: 'test' });
  expect(outcome.results.map((r) => r.raise_flag)).toEqual([false, false]);
  expect(outcome.results[0]?.message).toBe('daily_kpis_etl: daily_kpis finished 3 h ago (threshold 26 h)');
  expect(outcome.results[1]).toMatchObject({ newest_run_id: 'good-now', newest_run_status: 'succeeded' });
  expect(topicMessages(dir, TOPICS.alerts)).toEqual([]);
  const rows = await warehouse.query(
    "SELECT job_name, log_type FROM logs.daily_logs WHERE uid = 'm4' ORDER BY step_id",
    {},
    { job: 't', runId: 't' },
  );
  expect(rows).toEqual([
    { job_name: 'log_monitor', log_type: 'start' },
    { job_name: 'log_monitor', log_type: 'end' },
  ]);
});

test('a check without job_name follows the ETL under a crontab name (the job that wrote its dataset), not another job', async () => {
  // A crontab line's --etl-name: the ETL writes daily_kpis.* as job cron_etl; another ETL job ran later.
  const wrote = (uid: string, jobName: string, at: string, message: string) =>
    writeRunLog(warehouse, { runId: uid, jobName, jobType: 'etl', username: 'test' }, [
      { step: 'start', logType: 'start', at: new Date(at), message: 'ETL' },
      { step: 'installs', logType: 'info', at: new Date(at), message },
      { step: 'end', logType: 'end', at: new Date(at), message: 'ETL succeeded' },
    ]);
  await warehouse.ensureTable(RUN_LOG_TABLE);
  await wrote('renamed', 'cron_etl', '2026-11-27T05:00:00Z', 'wrote daily_kpis.installs for 2026-11-26..2026-11-26');
  await wrote('other', 'other_etl', '2026-11-27T08:00:00Z', 'wrote marketing.spend for 2026-11-26..2026-11-26');
  const outcome = await runLogMonitor(deps(), checks, { runId: 'm6', username: 'test' });
  expect(outcome.results.map((r) => [r.method, r.raise_flag, r.job_name, r.newest_run_id])).toEqual([
    ['freshness', false, 'cron_etl', 'renamed'],
    ['last_run', false, 'cron_etl', 'renamed'],
  ]);
  // A check that names its job watches that name only.
  const named = await runLogMonitor(deps(), [{ ...(checks[0] as LogCheck), follows_etl_dataset: null }], {
    runId: 'm7',
    username: 'test',
    dryRun: true,
  });
  expect(named.results[0]).toMatchObject({ raise_flag: true, reason: 'no_run', job_name: 'daily_kpis' });
});

test("a monitor's crontab line under the ETL's name: its end rows do not pass for finished ETL runs", async () => {
  await etlRun('etl-old', '2026-11-26T05:00:00Z', 'end');
  // `kpis monitor-logs --etl-name daily_kpis` every hour: end rows of job daily_kpis, job_type monitor.
  await writeRunLog(warehouse, { runId: 'hourly', jobName: 'daily_kpis', jobType: 'monitor', username: 'test' }, [
    { step: 'start', logType: 'start', at: new Date('2026-11-27T08:00:00Z'), message: 'run-log checks' },
    { step: 'end', logType: 'end', at: new Date('2026-11-27T08:00:01Z'), message: '2 checks' },
  ]);
  const cronShaped = {
    ...(checks[0] as LogCheck),
    follows_etl_dataset: null,
    counts_daily_kpis_runs: true,
    file_name: 'daily_kpis_etl.py',
  };
  for (const check of [checks[0] as LogCheck, cronShaped]) {
    const [freshness] = (await runLogMonitor(deps(), [check], { runId: 'm8', username: 'test', dryRun: true })).results;
    expect(freshness).toMatchObject({
      raise_flag: true,
      reason: 'stale',
      last_finished_at: '2026-11-26T05:01:00.000Z',
    });
  }
});

test('an hourly heartbeat raises a stale run once a day, not every hour', async () => {
  await etlRun('old', '2026-11-25T06:00:00Z', 'end');
  const first = await runLogMonitor(deps(), checks, { runId: 'h1', username: 'test' });
  const second = await runLogMonitor(deps(), checks, { runId: 'h2', username: 'test' });
  expect(first.delivery.published).toEqual(['pipeline:daily_kpis_etl:stale:2026-11-27']);
  expect(second.delivery).toMatchObject({
    published: [],
    already_published: ['pipeline:daily_kpis_etl:stale:2026-11-27'],
  });
  expect(topicMessages(dir, TOPICS.alerts)).toHaveLength(1);
});

test('file_name narrows the rows that count', async () => {
  await etlRun('good-now', '2026-11-27T06:00:00Z', 'end');
  const [freshness] = (
    await runLogMonitor(
      deps(),
      checks.map((check) => ({ ...check, file_name: 'some_script.py' })),
      { runId: 'm5', username: 'test' },
    )
  ).results;
  expect(freshness).toMatchObject({ raise_flag: true, reason: 'no_run' });
});

test('a result is about today in the business zone: 03:00 UTC is still yesterday in Los Angeles', () => {
  const check = {
    name: 'etl',
    job_name: 'daily_kpis',
    follows_etl_dataset: null,
    file_name: null,
    step_name: 'end',
    thresh_in_hours: 26,
    message: '{job_name} has not finished a run for {hours} hours',
    message_like: null,
    counts_daily_kpis_runs: false,
    description: '',
  };
  const status = {
    lastFinished: new Date('2026-11-26T06:00:00Z'),
    newestRunId: 'r1',
    failed: false,
    newestMessage: 'ok',
  };
  const now = new Date('2026-11-27T03:00:00Z');
  expect(judgeLog(check, status, now, 30, 'America/Los_Angeles').map((result) => result.date)).toEqual([
    '2026-11-26',
    '2026-11-26',
  ]);
  expect(judgeLog(check, status, now, 30).map((result) => [result.date, result.raise_flag])).toEqual([
    ['2026-11-27', false],
    ['2026-11-27', false],
  ]);
});
