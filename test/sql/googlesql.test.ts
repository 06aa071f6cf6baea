/**
 * Every statement the BigQuery adapter sends, checked by GoogleSQL's own analyzer (ZetaSQL): the
 * use-cases run against the BigQuery REST fake through the real client, every job the fake
 * receives is recorded with its typed parameters, and each statement is analyzed against the
 * tables' schemas. A DuckDB-only construct, an unknown column or a type error fails here.
 */
import { kpiAlert } from '../../shared/alerts/alert';
import { deliverAlerts } from '../../shared/alerts/deliver';
import { checkQueries } from '../../shared/config/check-queries';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_KPIS_CONFIG, loadKpiChecks, type KpiCheck } from '../../shared/config/kpi-checks';
import { loadLogChecks } from '../../shared/config/log-checks';
import { seedDemo } from '../../shared/events/seed-demo';
import { GA4_EVENT_FIELDS } from '../../shared/events/ga4-export';
import { tablesWithRoles } from '../../shared/etl/init';
import { placeholders } from '../../shared/sql';
import { runEtl } from '../../shared/etl/run-etl';
import { MIGRATED_TABLE, migrateRunLog } from '../../shared/etl/migrate-run-log';
import { silentLogger } from '../../shared/log';
import { LocalTopicPublisher } from '../../shared/messaging/publisher';
import { readIncidentDays, recordIncidentDays } from '../../shared/monitor/incidents';
import type { CheckResult } from '../../shared/monitor/detect';
import { runKpiMonitor } from '../../shared/monitor/kpi-monitor';
import { runLogMonitor } from '../../shared/monitor/log-monitor';
import { runTriggeredEtl } from '../../shared/pipeline/triggered-etl';
import { dailySummary } from '../../shared/report/daily-summary';
import { ALERTS_TABLE, RUN_LOG_TABLE, type ColumnType } from '../../shared/schema';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { HttpRecorder } from '../fakes/http-recorder';
import { tempDir } from '../helpers/history';
import { shippedJob, SOURCE } from '../helpers/warehouse';
import { startAnalyzer, type Analyzer, type CatalogTable } from '../helpers/zetasql';

const PROJECT = 'demo-project';
const NOW = new Date('2026-11-27T06:00:00Z');

interface Job {
  configuration: {
    dryRun?: boolean;
    query: { query: string; queryParameters?: { name: string; parameterType: { type: string } }[] };
  };
}

let analyzer: Analyzer;
let fake: BigQueryFake;
/** A project whose run log the cron job's pandas created: ts DATETIME, dt STRING. */
const CRON_PROJECT = 'cron-project';
const PANDAS_RUN_LOG: CatalogTable = {
  ...RUN_LOG_TABLE,
  columns: RUN_LOG_TABLE.columns.map((c) => ({
    name: c.name,
    type: c.name === 'ts' ? 'DATETIME' : c.name === 'dt' ? 'STRING' : c.type,
  })),
};
/** The source dataset's partition metadata view, with BigQuery's columns: the ETL's change check (restate_days) reads it. */
const SOURCE_PARTITIONS: CatalogTable = {
  dataset: SOURCE.dataset,
  table: 'INFORMATION_SCHEMA.PARTITIONS',
  description: 'BigQuery partition metadata',
  columns: [
    ...['table_catalog', 'table_schema', 'table_name', 'partition_id'].map((name) => ({
      name,
      type: 'STRING' as const,
    })),
    ...['total_rows', 'total_logical_bytes', 'total_billable_bytes'].map((name) => ({ name, type: 'INT64' as const })),
    { name: 'last_modified_time', type: 'TIMESTAMP' },
    { name: 'storage_tier', type: 'STRING' },
  ],
};
/** A GA4 export's dataset: its wildcard table with the `_TABLE_SUFFIX` pseudo-column, and its tables' metadata. */
const GA4_DATASET = 'analytics_1';
const GA4_TABLES: CatalogTable[] = [
  {
    dataset: GA4_DATASET,
    table: 'events_*',
    description: 'GA4 export',
    columns: [...GA4_EVENT_FIELDS, { name: '_TABLE_SUFFIX', type: 'STRING', pseudo: true }],
  },
  {
    dataset: GA4_DATASET,
    table: '__TABLES__',
    description: 'BigQuery table metadata',
    columns: [
      ...['project_id', 'dataset_id', 'table_id'].map((name) => ({ name, type: 'STRING' as const })),
      ...['creation_time', 'last_modified_time', 'row_count', 'size_bytes', 'type'].map((name) => ({
        name,
        type: 'INT64' as const,
      })),
    ],
  },
];
/** The shipped tables reading the GA4 export (coins from its `coins` parameter), restating as the shipped config does. */
const ga4Job = {
  ...shippedJob,
  tables: shippedJob.tables.map((table) =>
    placeholders(table.query).includes('source')
      ? {
          ...table,
          dataset_src: GA4_DATASET,
          table_src: 'events_*',
          ga4: {
            format: 'ga4_export' as const,
            dataset: GA4_DATASET,
            user_key: 'user_pseudo_id' as const,
            value_param: 'coins',
          },
        }
      : table,
  ),
};
/** A source table from before platform and country: `{{source}}` adds them as NULL in a subquery. */
const OLD_SOURCE: CatalogTable = { ...SOURCE, table: 'fact_before_platform', columns: SOURCE.columns.slice(0, 4) };
const oldSourceJob = {
  ...shippedJob,
  tables: shippedJob.tables.map((table) =>
    placeholders(table.query).includes('source') ? { ...table, table_src: OLD_SOURCE.table } : table,
  ),
};
let cronFake: BigQueryFake;
let slack: HttpRecorder;

beforeAll(async () => {
  const tables: CatalogTable[] = [
    ...tablesWithRoles(shippedJob)
      .map(({ table }) => table)
      .filter((table) => table.columns.length > 0),
    SOURCE_PARTITIONS,
    ...GA4_TABLES,
    OLD_SOURCE,
  ];

  const cronTables = [
    ...tables.filter((table) => table.table !== RUN_LOG_TABLE.table),
    PANDAS_RUN_LOG,
    { ...RUN_LOG_TABLE, table: MIGRATED_TABLE },
  ];
  analyzer = await startAnalyzer(PROJECT, tables, { [CRON_PROJECT]: cronTables });
  fake = await new BigQueryFake().start();
  cronFake = await new BigQueryFake().start();
  slack = new HttpRecorder();
  const slackUrl = await slack.start();
  // Answers that lead each use-case down all of its paths: a raised check, a stale run, an alert to claim.
  fake.results = (_sql, labels) => {
    if (labels.sql_file === 'monitors-coverage' || labels.sql_file === 'monitors-dau')
      return {
        fields: [
          { name: 'day', type: 'DATE' },
          { name: 'value', type: 'INTEGER' },
        ],
        rows: [['2026-11-26', 100]],
      };
    if (labels.sql_file === 'alerts-claimed')
      return { fields: [{ name: 'alert_id', type: 'STRING' }], rows: [['kpi:dau:2026-11-26']] };
    if (labels.sql_file === 'alerts-unposted')
      return { fields: [{ name: 'payload', type: 'STRING' }], rows: [[JSON.stringify(alert)]] };
    return { fields: [], rows: [] };
  };
  const warehouse = new BigQueryWarehouse(await createBigQueryClient(PROJECT, 'US', fake.url), {
    projectId: PROJECT,
    location: 'US',
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  // An alerts table from before delivered_at, so the migration statement is sent too.
  fake.datasets.add(ALERTS_TABLE.dataset);
  fake.tables.set(`${ALERTS_TABLE.dataset}.${ALERTS_TABLE.table}`, {
    schema: {
      fields: ALERTS_TABLE.columns
        .filter((c) => c.name !== 'delivered_at')
        .map((c) => ({ name: c.name, type: c.type })),
    },
  });
  const context = { job: 'zetasql', runId: 'analyzer' };
  const deps = {
    warehouse,
    clock: () => NOW,
    logger: silentLogger,
    publisher: new LocalTopicPublisher(tempDir(), () => NOW),
    slackWebhook: async () => `${slackUrl}/hook`,
  };
  const range = { start: '2026-11-25', end: '2026-11-26' };

  await seedDemo(warehouse, SOURCE, { today: '2026-11-27', now: NOW, days: 3, whenNotEmpty: 'replace' }, context).catch(
    () => undefined,
  );
  await runEtl(deps, shippedJob, { range, runId: 'etl-run', username: 'test' });
  await runEtl(deps, shippedJob, { range, runId: 'etl-dry', username: 'test', dryRun: true });
  await runTriggeredEtl(deps, shippedJob, {
    trigger: { range, dryRun: false },
    runId: 'etl-triggered',
    username: 'test',
    publishedAt: NOW,
  });
  // The read-ahead check's count before a build's time (the demo has no event of the 27th before NOW, so the run sent none).
  await warehouse.sourceVersionsBefore(
    SOURCE,
    { start: '2026-11-26', end: '2026-11-27' },
    NOW,
    'Europe/Berlin',
    context,
  );
  await runKpiMonitor(deps, [...loadKpiChecks(), segmentedShortForm()], {
    dates: ['2026-11-26'],
    runId: 'kpi-run',
    username: 'test',
  });
  await runLogMonitor(deps, loadLogChecks(), { runId: 'log-run', username: 'test' });
  await deliverAlerts(deps, [alert], { ...context, source: 'test' });
  // An incident's records: a raised day written, a day that no longer raises forgotten, and read back.
  const raisedDay = {
    ...alert,
    status: 'raised' as const,
    incident_id: alert.alert_id,
    incident_start: alert.date,
    incident_days: 1,
  };
  await recordIncidentDays(
    warehouse,
    { alerts: [], raisedDays: [raisedDay], clearedDays: [{ alert_id: alert.alert_id, date: alert.date }] },
    NOW,
    context,
  );
  await readIncidentDays(warehouse, ['2026-11-27'], context);
  await dailySummary(warehouse, shippedJob, '2026-11-26', context);
  await checkQueries(warehouse, shippedJob, { file: DEFAULT_KPIS_CONFIG, checks: loadKpiChecks() }, context);
  // Every statement rendered for a GA4 export source: the run (its change check and freshness guard included), its dry run, kpis validate.
  await runEtl(deps, ga4Job, { range, runId: 'ga4-run', username: 'test' });
  await runEtl(deps, ga4Job, { range, runId: 'ga4-dry', username: 'test', dryRun: true });
  await checkQueries(warehouse, ga4Job, { file: DEFAULT_KPIS_CONFIG, checks: [] }, context);
  fake.tables.set(`${OLD_SOURCE.dataset}.${OLD_SOURCE.table}`, {
    schema: { fields: OLD_SOURCE.columns.map((c) => ({ name: c.name, type: c.type })) },
  });
  await runEtl(deps, oldSourceJob, { range, runId: 'old-source-run', username: 'test' });

  // The same use-cases on a project whose run log is the cron job's, then its conversion.
  cronFake.datasets.add(RUN_LOG_TABLE.dataset);
  cronFake.tables.set(`${RUN_LOG_TABLE.dataset}.${RUN_LOG_TABLE.table}`, {
    schema: { fields: PANDAS_RUN_LOG.columns.map((c) => ({ name: c.name, type: c.type })) },
  });
  const cron = new BigQueryWarehouse(await createBigQueryClient(CRON_PROJECT, 'US', cronFake.url), {
    projectId: CRON_PROJECT,
    location: 'US',
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const cronDeps = { ...deps, warehouse: cron };
  const oldLogConfig = path.join(tempDir(), 'log_config.json');
  writeFileSync(
    oldLogConfig,
    JSON.stringify({
      daily_kpis: {
        alerts: {
          etl: {
            message: '%daily%',
            enable_message: true,
            step_name: 'end',
            file_name: 'daily_kpis_etl.py',
            job_name: 'daily_kpis',
            thresh_in_hours: 26,
          },
        },
      },
    }),
  );
  await runEtl(cronDeps, shippedJob, { range, runId: 'cron-etl', username: 'test' });
  await runTriggeredEtl(cronDeps, shippedJob, {
    trigger: { range, dryRun: false },
    runId: 'cron-triggered',
    username: 'test',
    publishedAt: NOW,
  });
  await runLogMonitor(cronDeps, loadLogChecks(oldLogConfig), { runId: 'cron-log-run', username: 'test' });
  await migrateRunLog(cron, { dryRun: false }, context);
}, 120_000);

afterAll(async () => {
  analyzer?.stop();
  await fake?.stop();
  await cronFake?.stop();
  await slack?.stop();
});

const raisedDay: CheckResult = {
  check: 'dau',
  segment: null,
  date: '2026-11-26',
  metric: 1500,
  previous_metric: 1000,
  change: 0.5,
  score: null,
  raise_flag: true,
  verdict: 'raised',
  method: 'weekday',
  direction: 'both',
  threshold: 0.15,
  band: { low: 850, high: 1150 },
  trend: [1000, 1020, 990, 1500],
  failure: null,
  severity: 'warn',
  message: 'dau spiked',
  table: 'daily_kpis.daily_user_panel',
};

const alert = kpiAlert(raisedDay, 'kpi-run', NOW);

/** The short form with a segment, which the shipped checks do not use. */
function segmentedShortForm() {
  const file = path.join(tempDir(), 'kpis_config.json');
  writeFileSync(
    file,
    JSON.stringify({
      kpis: {
        events_per_user: {
          dataset: 'daily_kpis',
          table_id: 'daily_user_panel',
          date_column: 'date',
          value: 'SUM(total_events)',
          segment: 'user_id',
        },
      },
    }),
  );
  return loadKpiChecks(file)[0] as KpiCheck;
}

function sentJobs(): { sql: string; params: Record<string, ColumnType> }[] {
  // Load jobs (the demo's events) carry no SQL.
  const queries = fake
    .jobInserts()
    .flatMap((request) =>
      (request.body as Job | undefined)?.configuration?.query ? [(request.body as Job).configuration.query] : [],
    );
  return queries.map((query) => ({
    sql: query.query,
    params: Object.fromEntries((query.queryParameters ?? []).map((p) => [p.name, p.parameterType.type as ColumnType])),
  }));
}

test('the use-cases sent every kind of statement: the ETL script, the monitors, the alert claims, the migration', () => {
  const sql = sentJobs()
    .map((job) => job.sql)
    .join('\n');
  for (const piece of [
    'BEGIN TRANSACTION;',
    'MERGE INTO `demo-project.daily_kpis.installs`',
    'DELETE FROM `demo-project.daily_kpis.daily_coins`',
    'INSERT INTO `demo-project.logs.daily_logs`',
    'MERGE INTO `demo-project.monitoring.alerts`',
    'ALTER TABLE `demo-project.monitoring.alerts` ADD COLUMN IF NOT EXISTS delivered_at',
    'UPDATE `demo-project.monitoring.alerts`',
    'CAST(user_id AS STRING) AS segment',
    'FROM `demo-project.gamepltx.INFORMATION_SCHEMA.PARTITIONS`',
    "message LIKE '%; source versions {%'",
    'SELECT MAX(time) AS newest',
    // The read-ahead check (reads_days_after): a day's events before a build's time.
    'AND time < @before',
    "WHERE channel = 'incident' AND date BETWEEN @start_date AND @end_date AND alert_id IN (@alert_id_1)",
    // The run's days 25..26, a day each side, and daily_sessions' day before and day after.
    "FROM `demo-project.analytics_1.events_*`\n  WHERE _TABLE_SUFFIX BETWEEN '20261123' AND '20261128'",
    'FROM UNNEST(event_params) AS p',
    'FROM `demo-project.analytics_1.__TABLES__`',
    'CAST(NULL AS STRING) AS platform, CAST(NULL AS STRING) AS country FROM `demo-project.gamepltx.fact_before_platform`',
  ]) {
    expect(sql).toContain(piece);
  }
});

test('GoogleSQL accepts every statement, with its typed parameters', async () => {
  const problems: string[] = [];
  let statements = 0;
  for (const job of sentJobs()) {
    for (const result of await analyzer.analyze(job.sql, job.params)) {
      statements += 1;
      if (result.error)
        problems.push(
          `${result.error}\n    in: ${result.statement
            .split('\n')
            .filter((line) => !line.startsWith('--'))
            .slice(0, 3)
            .join(' ')}`,
        );
    }
  }
  expect(problems).toEqual([]);
  expect(statements).toBeGreaterThan(30);
});

test('the analyzer is not lenient: a DuckDB-only construct, an unknown column and a type error are rejected', async () => {
  const rejects = async (sql: string, params: Record<string, ColumnType> = {}) =>
    (await analyzer.analyze(sql, params)).find((result) => result.error)?.error;
  expect(await rejects('SELECT user_id FROM `demo-project.daily_kpis.installs` GROUP BY ALL')).toMatch(/GROUP BY ALL/);
  expect(await rejects('SELECT user_idd FROM `demo-project.daily_kpis.installs`')).toMatch(
    /Unrecognized name: user_idd/,
  );
  expect(
    await rejects('SELECT * FROM `demo-project.daily_kpis.installs` WHERE install_date = @n', { n: 'INT64' }),
  ).toMatch(/No matching signature|operator =/);
  expect(await rejects('SELECT $1 FROM `demo-project.daily_kpis.installs`')).toBeDefined();
});

test("on the cron job's run log (ts DATETIME, dt STRING), every statement, its conversion included, is valid against those types", async () => {
  const jobs = cronFake
    .jobInserts()
    .flatMap((request) =>
      (request.body as Job | undefined)?.configuration?.query ? [(request.body as Job).configuration.query] : [],
    );
  const sql = jobs.map((query) => query.query).join('\n');
  for (const piece of [
    'CAST(@ts_1 AS DATETIME)',
    'CAST(@dt_1 AS STRING)',
    'MAX(CAST(ts AS TIMESTAMP))',
    'WHERE CAST(dt AS DATE) >= @since',
    'message LIKE @message_like',
    'CAST(dt AS DATE) AS dt',
    'RENAME TO daily_logs_cron_backup',
  ])
    expect(sql).toContain(piece);
  const problems: string[] = [];
  for (const query of jobs) {
    const params = Object.fromEntries(
      (query.queryParameters ?? []).map((p) => [p.name, p.parameterType.type as ColumnType]),
    );
    for (const result of await analyzer.analyze(query.query, params))
      if (result.error) problems.push(`${result.error}\n    in: ${result.statement.slice(0, 200)}`);
  }
  expect(problems).toEqual([]);
});
