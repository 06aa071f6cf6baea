/**
 * The source freshness guard on DuckDB: a run over a source whose newest event is older than
 * source_freshness_hours still builds, says so on its end row, and the log monitor raises one
 * source_stale pipeline alert naming the newest event, however often it runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadEtlConfig } from '../../../shared/config/etl-config';
import { loadLogChecks } from '../../../shared/config/log-checks';
import { ConfigError } from '../../../shared/errors';
import { runEtl } from '../../../shared/etl/run-etl';
import { silentLogger } from '../../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../../shared/messaging/publisher';
import { runLogMonitor } from '../../../shared/monitor/log-monitor';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { tempDir, topicMessages } from '../../helpers/history';
import { context, dumpKpiTables, insertEvents, job, openMemoryWarehouse } from '../../helpers/warehouse';

const guarded = { ...job, sourceFreshnessHours: 6 };
const RUN_AT = new Date('2026-11-27T06:00:00Z');

let warehouse: DuckDbWarehouse;
let dir: string;
beforeEach(async () => {
  warehouse = await openMemoryWarehouse();
  dir = tempDir();
});
afterEach(() => warehouse.close());

function etl(runJob = guarded) {
  return runEtl({ warehouse, clock: () => RUN_AT, logger: silentLogger }, runJob, {
    range: { start: '2026-11-26', end: '2026-11-26' },
    runId: 'daily',
    username: 'scheduler',
  });
}

function logMonitor(runId: string) {
  const at = new Date('2026-11-27T07:00:00Z');
  return runLogMonitor(
    {
      warehouse,
      publisher: new LocalTopicPublisher(dir, () => at),
      slackWebhook: async () => null,
      clock: () => at,
      logger: silentLogger,
    },
    loadLogChecks(),
    {
      runId,
      username: 'test',
    },
  );
}

async function endMessage(): Promise<string> {
  const [row] = await warehouse.query(
    "SELECT message FROM logs.daily_logs WHERE log_type = 'end' AND job_type = 'etl'",
    {},
    context,
  );
  return String(row?.message);
}

test('a stale source: the ETL builds anyway, and the log monitor raises source_stale once, naming the newest event', async () => {
  await insertEvents(warehouse, [
    { user_id: 'a', time: '2026-11-26T08:00:00Z' },
    { user_id: 'b', time: '2026-11-26T10:15:00Z' },
  ]);
  const { result } = await etl();
  expect(result.status).toBe('succeeded');
  expect((await dumpKpiTables(warehouse)).daily_user_panel).toHaveLength(2);
  expect(await endMessage()).toContain(
    '; source stale: gamepltx.fact newest event 2026-11-26T10:15:00.000Z, 20 h old at 2026-11-27T06:00:00.000Z (source_freshness_hours 6)',
  );

  const first = await logMonitor('m1');
  expect(first.results.map((r) => [r.method, r.raise_flag, r.reason])).toEqual([
    ['freshness', false, null],
    ['last_run', false, null],
    ['source_freshness', true, 'source_stale'],
  ]);
  expect(first.alerts.map((alert) => alert.alert_id)).toEqual(['pipeline:daily_kpis_etl:source_stale:2026-11-27']);
  expect(first.alerts[0]?.message).toMatch(
    /stale source: gamepltx\.fact newest event 2026-11-26T10:15:00\.000Z, 20 h old/,
  );
  await logMonitor('m2');
  expect(topicMessages(dir, TOPICS.alerts).map((m) => (m.data as { method: string }).method)).toEqual(['source_stale']);
});

test('a source with no event in twice the threshold (at least a day) says so', async () => {
  await insertEvents(warehouse, [{ user_id: 'a', time: '2026-11-20T08:00:00Z' }]);
  await etl();
  expect(await endMessage()).toContain(
    '; source stale: gamepltx.fact no event since 2026-11-26T06:00:00.000Z at 2026-11-27T06:00:00.000Z',
  );
});

test('a fresh source, or the guard off: nothing said, nothing raised', async () => {
  await insertEvents(warehouse, [{ user_id: 'a', time: '2026-11-27T01:00:00Z' }]);
  await etl();
  expect(await endMessage()).not.toContain('source stale');
  expect((await logMonitor('m1')).alerts).toEqual([]);
  await warehouse.query('DELETE FROM logs.daily_logs', {}, context);
  await warehouse.query("DELETE FROM gamepltx.fact WHERE user_id = 'a'", {}, context);
  await insertEvents(warehouse, [{ user_id: 'b', time: '2026-11-20T01:00:00Z' }]);
  await etl({ ...job, sourceFreshnessHours: 0 });
  expect(await endMessage()).not.toContain('source stale');
});

describe('source_freshness_hours in the config', () => {
  function configWith(value: unknown): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-fresh-')), 'daily_kpis_config.json');
    writeFileSync(
      file,
      JSON.stringify({
        daily_kpis: {
          ...(value === undefined ? {} : { source_freshness_hours: value }),
          kpis: { daily_user_panel: {} },
        },
      }),
    );
    return file;
  }

  test('defaults to 6 hours; 0 turns it off; fractions are hours too', () => {
    expect(loadEtlConfig(configWith(undefined)).sourceFreshnessHours).toBe(6);
    expect(loadEtlConfig(configWith(0)).sourceFreshnessHours).toBe(0);
    expect(loadEtlConfig(configWith(1.5)).sourceFreshnessHours).toBe(1.5);
  });

  test.each([-1, 8761, '6', null])(
    'source_freshness_hours %p is refused, naming the file, the entry and the allowed values',
    (value) => {
      const file = configWith(value);
      expect(() => loadEtlConfig(file)).toThrow(ConfigError);
      expect(() => loadEtlConfig(file)).toThrow(file);
      expect(() => loadEtlConfig(file)).toThrow(
        /\$\.daily_kpis\.source_freshness_hours.*number of hours from 0 \(off\) to 8760/,
      );
    },
  );
});
