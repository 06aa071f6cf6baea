/**
 * The calendar's statements on BigQuery, checked by GoogleSQL's own analyzer (ZetaSQL): recording
 * muted alerts, and the report reading them, sent through the real client to the BigQuery fake.
 */
import { mutedAlert, recordMuted } from '../../shared/monitor/muted';
import { reportData } from '../../shared/report/report';
import { ALERTS_TABLE, type ColumnType } from '../../shared/schema';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { shippedJob } from '../helpers/warehouse';
import { startAnalyzer, type Analyzer } from '../helpers/zetasql';

const PROJECT = 'demo-project';
const NOW = new Date('2026-11-27T06:00:00Z');
let analyzer: Analyzer;
let fake: BigQueryFake;

beforeAll(async () => {
  analyzer = await startAnalyzer(PROJECT, [ALERTS_TABLE]);
  fake = await new BigQueryFake().start();
  const warehouse = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'US', fake.url), {
    projectId: PROJECT,
    location: 'US',
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const context = { job: 'zetasql', runId: 'calendar' };
  const result = {
    check: 'dau',
    segment: null,
    date: '2026-11-26',
    metric: 1500,
    previous_metric: 1000,
    change: 0.5,
    score: null,
    raise_flag: false,
    verdict: 'muted' as const,
    method: 'weekday' as const,
    direction: 'both' as const,
    threshold: 0.15,
    band: { low: 850, high: 1150 },
    trend: null,
    failure: null,
    severity: 'warn' as const,
    message: 'dau spiked; muted by the calendar: campaign',
    table: 'daily_kpis.daily_user_panel',
    calendar_note: 'campaign',
  };
  await recordMuted(
    warehouse,
    [mutedAlert(result, 'run', NOW), mutedAlert({ ...result, check: 'installs' }, 'run', NOW)],
    'run',
    NOW,
    context,
  );
  await reportData(
    warehouse,
    shippedJob,
    [],
    { range: { start: '2026-11-20', end: '2026-11-26' }, generatedAt: NOW, source: 'fake' },
    context,
  );
}, 120_000);

afterAll(async () => {
  analyzer?.stop();
  await fake?.stop();
});

test('GoogleSQL accepts the muted alerts MERGE and the report read, with their typed parameters', async () => {
  const jobs = fake.jobInserts().flatMap((request) => {
    const query = (
      request.body as {
        configuration?: {
          query?: { query: string; queryParameters?: { name: string; parameterType: { type: string } }[] };
        };
      }
    )?.configuration?.query;
    return query
      ? [
          {
            sql: query.query,
            params: Object.fromEntries(
              (query.queryParameters ?? []).map((p) => [p.name, p.parameterType.type as ColumnType]),
            ),
          },
        ]
      : [];
  });
  expect(jobs.length).toBeGreaterThanOrEqual(3);
  const sql = jobs.map((job) => job.sql).join('\n');
  expect(sql).toContain("WHERE channel = 'muted' AND date BETWEEN @start_date AND @end_date");
  expect(sql).toContain('MERGE INTO `demo-project.monitoring.alerts` AS t');
  const problems: string[] = [];
  for (const job of jobs)
    for (const analyzed of await analyzer.analyze(job.sql, job.params))
      if (analyzed.error) problems.push(`${analyzed.error}\n    in: ${analyzed.statement.slice(0, 200)}`);
  expect(problems).toEqual([]);
});
