/**
 * `kpis monitor --kpis-config FILE` posts each alert to the channel FILE's slack_webhooks names,
 * through the real CLI (bin/kpis.js in a child process) and a local webhook server: the channels
 * come from the file the checks come from, not from $KPIS_MONITOR_CONFIG's default.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_KPIS_CONFIG } from '../../shared/config/kpi-checks';
import { HttpRecorder } from '../fakes/http-recorder';
import { runKpis } from '../helpers/cli';
import { historyWithAnomalies } from '../helpers/history';
import { buildHistoryFile } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00Z';
const dir = mkdtempSync(path.join(tmpdir(), 'kpis-monitor-routing-'));
const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;
const config = path.join(dir, 'team_kpis.json');
const growth = new HttpRecorder();
let growthUrl = '';

beforeAll(async () => {
  growthUrl = await growth.start();
  // No events at all on the 26th: every check raises that day.
  await buildHistoryFile(
    path.join(dir, 'w.duckdb'),
    historyWithAnomalies('2026-11-26', 35, { '2026-11-26': 'empty' }),
    { start: '2026-10-23', end: '2026-11-26' },
    NOW,
  );
  const shipped = JSON.parse(readFileSync(DEFAULT_KPIS_CONFIG, 'utf8')) as {
    kpis: Record<string, Record<string, unknown>>;
  };
  writeFileSync(
    config,
    JSON.stringify({
      slack_webhooks: { growth: { secret: 'daily-kpis-slack-growth', env: 'GROWTH_HOOK' } },
      kpis: { dau: { ...shipped.kpis.dau, channel: 'growth', owner: 'U0ALICE1' } },
    }),
  );
});

afterAll(() => growth.stop());

test("--kpis-config FILE: the alert goes to FILE's channel, with its owner mentioned", async () => {
  // No default webhook: a post can only reach the growth channel's own variable.
  const run = await runKpis(
    ['monitor', '--kpis-config', config, '--warehouse', warehouse, '--date', '2026-11-26'],
    dir,
    NOW,
    {
      KPIS_TOPICS_DIR: path.join(dir, 'topics'),
      KPIS_SLACK_WEBHOOK_URL: '',
      GROWTH_HOOK: growthUrl,
    },
  );
  expect(run.stderr).not.toContain('slack_webhooks');
  expect(run.stdout).toContain('! dau on 2026-11-26');
  expect(growth.requests).toHaveLength(1);
  const text = (JSON.parse(growth.requests[0]?.body ?? '{}') as { text: string }).text;
  expect(text).toContain('dau');
  expect(text).toContain('<@U0ALICE1>');
});
