/** Owners, channels, tags and remind_after_hours in config/kpis_config.json: defaults, overrides, and clear errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadKpiChecks, loadSlackWebhooks } from '../../../shared/config/kpi-checks';
import { ConfigError } from '../../../shared/errors';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-routing-config-'));
function configFile(content: unknown): string {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const dau = { dataset: 'daily_kpis', table_id: 'daily_user_panel' };

test('a check without routing posts to the default channel, mentions nobody, has no tags and reminds daily', () => {
  const [check] = loadKpiChecks(configFile({ kpis: { dau } }));
  expect(check).toMatchObject({ owner: [], channel: 'default', tags: [], remind_after_hours: 24 });
  expect(loadSlackWebhooks(configFile({ kpis: { dau } }))).toEqual(new Map());
});

test("the config's defaults apply to every check that does not set its own; a check's own win", () => {
  const file = configFile({
    defaults: { owner: 'S0GROWTH1', channel: 'growth', tags: ['growth'], remind_after_hours: 48 },
    slack_webhooks: {
      growth: { secret: 'daily-kpis-slack-growth' },
      'live-ops': { secret: 'daily-kpis-slack-liveops', env: 'LIVEOPS_HOOK' },
    },
    kpis: {
      dau,
      installs: {
        ...dau,
        table_id: 'installs',
        owner: ['U0ALICE1', 'W0BOB22'],
        channel: 'live-ops',
        tags: [],
        remind_after_hours: 12,
      },
    },
  });
  const [first, second] = loadKpiChecks(file);
  expect(first).toMatchObject({ owner: ['S0GROWTH1'], channel: 'growth', tags: ['growth'], remind_after_hours: 48 });
  expect(second).toMatchObject({
    owner: ['U0ALICE1', 'W0BOB22'],
    channel: 'live-ops',
    tags: [],
    remind_after_hours: 12,
  });
  expect(loadSlackWebhooks(file)).toEqual(
    new Map([
      ['growth', { secret: 'daily-kpis-slack-growth', env: 'KPIS_SLACK_WEBHOOK_URL_GROWTH' }],
      ['live-ops', { secret: 'daily-kpis-slack-liveops', env: 'LIVEOPS_HOOK' }],
    ]),
  );
});

test.each([
  [
    { kpis: { dau: { ...dau, channel: 'ops' } } },
    '$.kpis.dau.channel: must be default (the names in slack_webhooks, or default), got ops',
  ],
  [{ defaults: { channel: 'ops' }, kpis: { dau } }, '$.defaults.channel: must be default'],
  [
    { kpis: { dau: { ...dau, owner: '<!channel>' } } },
    'must be a Slack user id (U0123ABCD, W0123ABCD) or user group id (S0123ABCD), got <!channel>',
  ],
  [{ kpis: { dau: { ...dau, owner: ['U0ALICE1', '@here'] } } }, 'got @here'],
  [
    { kpis: { dau: { ...dau, tags: ['Growth Team'] } } },
    'must be lower-case letters, digits and underscores, got Growth Team',
  ],
  [
    { slack_webhooks: { default: { secret: 'x' } }, kpis: { dau } },
    '$.slack_webhooks.default: is the webhook of KPIS_SLACK_SECRET',
  ],
  [{ slack_webhooks: { ops: { secret: 'has/slash' } }, kpis: { dau } }, 'slack_webhooks.ops.secret'],
  [{ kpis: { dau: { ...dau, remind_after_hours: 0 } } }, '$.kpis.dau.remind_after_hours'],
])('%j is refused: %s', (content, problem) => {
  const file = configFile(content);
  expect(() => loadKpiChecks(file)).toThrow(ConfigError);
  expect(() => loadKpiChecks(file)).toThrow(problem);
});
