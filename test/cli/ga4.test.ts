/**
 * The GA4 export from the command line, as a user follows the README: seed a demo export into the
 * embedded warehouse, load a shard as `bq extract` writes it, build the KPI tables from it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runKpis, type Run } from '../helpers/cli';

const NOW = '2026-11-27T06:00:00Z';
const dir = mkdtempSync(path.join(tmpdir(), 'kpis-ga4-cli-'));
const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;
const config = path.join(dir, 'daily_kpis_config.json');
writeFileSync(
  config,
  JSON.stringify({
    daily_kpis: {
      source: { format: 'ga4_export', dataset: 'analytics_demo', value_param: 'coins' },
      kpis: { daily_user_panel: {}, installs: {}, last_activity: {} },
    },
  }),
);
const kpis = (...args: string[]): Promise<Run> => runKpis([...args, '--warehouse', warehouse], dir, NOW);

test("seed-demo --format ga4_export writes final shards and today's intraday one; the ETL builds from them; a shard loads as bq extract writes it", async () => {
  const seeded = await kpis('seed-demo', '--format', 'ga4_export', '--days', '3', '--config', config);
  expect(seeded.stderr).toBe('');
  expect(seeded.stdout).toMatch(
    /^Seeded [\d,]+ demo events for 2026-11-25\.\.2026-11-27 into 3 shards of analytics_demo\.\n$/,
  );
  const again = await kpis('seed-demo', '--format', 'ga4_export', '--config', config);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain('analytics_demo already holds export tables (events_...); add --replace');

  const built = await kpis('etl', '--date', '2026-11-26', '--config', config, '--json');
  expect(built.stderr).toBe('');
  expect(JSON.parse(built.stdout)).toMatchObject({ status: 'succeeded', dates: ['2026-11-26'] });

  const shard = path.join(dir, 'events_20261126.json');
  const event = {
    event_date: '20261126',
    event_timestamp: String(Date.parse('2026-11-26T12:00:00Z') * 1000),
    event_name: 'purchase',
    user_pseudo_id: 'p1',
  };
  writeFileSync(
    shard,
    `${JSON.stringify({ ...event, event_params: [{ key: 'coins', value: { int_value: '9' } }] })}\n`,
  );
  const loaded = await kpis('load-events', shard, '--format', 'ga4_export', '--config', config);
  expect(loaded.stderr).toBe('');
  expect(loaded.stdout).toContain('Loaded 1 event from');
  expect(loaded.stdout).toContain('into analytics_demo: events_20261126 (1)');
  const rebuilt = await kpis('etl', '--date', '2026-11-26', '--config', config, '--json');
  expect(JSON.parse(rebuilt.stdout)).toMatchObject({ status: 'succeeded' });
});

test('a shard file the mapping cannot read, or without events, replaces nothing: the line is named, an empty file needs --force', async () => {
  const seeded = await kpis('seed-demo', '--format', 'ga4_export', '--days', '3', '--replace', '--config', config);
  expect(seeded.code).toBe(0);
  const noTime = path.join(dir, 'events_20261125.json');
  writeFileSync(noTime, '{"event_name":"x"}\n');
  const refused = await kpis('load-events', '--format', 'ga4_export', noTime, '--config', config);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`${noTime}:1: column event_timestamp: event_timestamp: is required`);
  expect(refused.stderr).toContain(`${noTime}:1: column user_pseudo_id: user_pseudo_id or user_id is required`);
  const empty = path.join(dir, 'events_20261126.json');
  writeFileSync(empty, '');
  const emptyRefused = await kpis('load-events', '--format', 'ga4_export', empty, '--config', config);
  expect(emptyRefused.code).toBe(1);
  expect(emptyRefused.stderr).toMatch(
    new RegExp(`no events in ${empty}: it would replace shard events_20261126 holding [\\d,]+ rows; nothing loaded`),
  );
  const forced = await kpis('load-events', '--format', 'ga4_export', empty, '--force', '--config', config);
  expect(forced.stderr).toBe('');
  expect(forced.stdout).toContain('Loaded 0 events from');
  expect(forced.stdout).toContain('into analytics_demo: events_20261126 (0)');
});

test.each([
  [['load-events', 'x.json', '--format', 'ga4_export', '--table', 'a.b', '--config', config], '--table does not apply'],
  [['load-events', 'x.json', '--format', 'ga4'], '--format must be one of csv, jsonl, parquet, ga4_export, got "ga4"'],
  [['seed-demo', '--format', 'firebase'], '--format must be one of events, ga4_export, got "firebase"'],
  [
    ['load-events', 'x.csv', '--config', config],
    "the config's source is the GA4 export (dataset analytics_demo): load or seed it with --format ga4_export",
  ],
  [
    ['seed-demo', '--config', config],
    "the config's source is the GA4 export (dataset analytics_demo): load or seed it with --format ga4_export",
  ],
  // The shipped config reads a table of events, not an export.
  [
    ['load-events', 'x.json', '--format', 'ga4_export'],
    'the config\'s source is not the GA4 export; add "source": {"format": "ga4_export"',
  ],
])('kpis %j: %s', async (args, message) => {
  const run = await kpis(...args);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(message);
});

test('--help says what the GA4 formats do', async () => {
  expect((await kpis('load-events', '--help')).stdout).toContain('ga4_export: a\n');
  expect((await kpis('seed-demo', '--help')).stdout).toContain(
    '--format F         events (default): the source table; ga4_export',
  );
});

test('kpis start with a GA4 export config seeds the export (not an events table) into an empty warehouse and runs the chain on it', async () => {
  const startDir = mkdtempSync(path.join(tmpdir(), 'kpis-ga4-start-'));
  const checks = path.join(startDir, 'kpis_config.json');
  writeFileSync(
    checks,
    JSON.stringify({ kpis: { users: { table_id: 'daily_user_panel', date_column: 'date', value: 'COUNT(*)' } } }),
  );
  const startWarehouse = `duckdb:${path.join(startDir, 'w.duckdb')}`;
  const run = await runKpis(['start', '--config', config, '--warehouse', startWarehouse, '--json'], startDir, NOW, {
    KPIS_MONITOR_CONFIG: checks,
  });
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout) as { seeded_events: number; etl: { status: string }; kpis: { dau: number } };
  expect(result.seeded_events).toBeGreaterThan(1000);
  expect(result.etl.status).toBe('succeeded');
  expect(result.kpis.dau).toBeGreaterThan(0);
  // The export's shards hold the events: a second start seeds nothing over them.
  const again = await runKpis(['start', '--config', config, '--warehouse', startWarehouse, '--json'], startDir, NOW, {
    KPIS_MONITOR_CONFIG: checks,
  });
  expect((JSON.parse(again.stdout) as { seeded_events: number }).seeded_events).toBe(0);
});
