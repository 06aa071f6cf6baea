/**
 * kpiMonitor over HTTP with a check in another dataset than the KPI tables: the function finds
 * which days had events through the ETL config's daily user panel, as kpis monitor does, instead
 * of looking for a panel in the check's own dataset (where a missing table failed the check).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Alert } from '../../shared/alerts/alert';
import { appendEvents } from '../../shared/events/load-events';
import { runEtl, type EtlResult } from '../../shared/etl/run-etl';
import { silentLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, shippedJob as job, SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00.000Z';
let dir: string;
let runtime: FunctionRuntime;

beforeAll(async () => {
  dir = tempDir();
  const config = path.join(dir, 'kpis_config.json');
  writeFileSync(
    config,
    JSON.stringify({
      kpis: {
        dau_elsewhere: {
          dataset: 'analytics',
          table_id: 'dau_copy',
          date_column: 'date',
          value: 'SUM(users)',
          method: 'pct_change',
        },
      },
    }),
  );
  const env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
    KPIS_MONITOR_CONFIG: config,
  };
  runtime = useFunctionRuntime(env);
  const { warehouse } = await runtime.ports();
  // No events at all on the 26th: the check raises that day, as a day without events.
  await appendEvents(warehouse, SOURCE, historyWithAnomalies('2026-11-27', 21, { '2026-11-26': 'empty' }), context);
  const { result } = await runEtl({ warehouse, clock: () => new Date(NOW), logger: silentLogger }, job, {
    range: { start: '2026-11-07', end: '2026-11-27' },
    runId: 'etl-1',
    username: 'test',
  });
  expect(result.status).toBe('succeeded');
  await warehouse.query('CREATE SCHEMA IF NOT EXISTS analytics', {}, context);
  await warehouse.query(
    'CREATE OR REPLACE TABLE analytics.dau_copy AS SELECT date, COUNT(*) AS users FROM daily_kpis.daily_user_panel GROUP BY date',
    {},
    context,
  );
});
afterAll(() => runtime.close());

test("a check in another dataset is judged with the ETL config's daily user panel, not failed as a missing table", async () => {
  const completion: EtlResult = {
    run_id: 'etl-1',
    job_name: 'daily_kpis',
    status: 'succeeded',
    start_date: '2026-11-26',
    end_date: '2026-11-27',
    dates: ['2026-11-26', '2026-11-27'],
    tables: ['daily_kpis.daily_user_panel'],
    error: null,
    started_at: NOW,
    finished_at: NOW,
    dry_run: false,
  };
  await withFunctionServer('kpiMonitor', async (url) => {
    expect(await post(url, pubsubEvent(completion, { publishTime: NOW, topic: TOPICS.completed }))).toBe(204);
  });
  const alerts = topicMessages(dir, TOPICS.alerts).map((message) => message.data as Alert);
  expect(alerts.filter((alert) => alert.kind === 'pipeline')).toEqual([]);
  expect(alerts.map((alert) => `${alert.check} ${alert.date}`)).toEqual(['dau_elsewhere 2026-11-26']);
});
