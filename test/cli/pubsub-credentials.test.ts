/**
 * Pub/Sub without Google credentials, as a new user meets it: `kpis publish --project` and
 * `kpis monitor` with KPIS_PUBLISHER=pubsub:PROJECT, through the real CLI in a child process. No
 * emulator, and credentials that cannot load (a missing key file, or none at all with the metadata
 * server off): the client fails before any request, so nothing reaches Google.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runKpis, type Run } from '../helpers/cli';
import { historyWithAnomalies } from '../helpers/history';
import { buildHistoryFile } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00Z';
const dir = mkdtempSync(path.join(tmpdir(), 'kpis-pubsub-credentials-'));
const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;
const NO_CREDENTIALS =
  'no Google credentials for Pub/Sub: run gcloud auth application-default login, or set KPIS_PUBLISHER=local';

/** No emulator, no gcloud config, no key file in HOME: only GOOGLE_APPLICATION_CREDENTIALS, when given, is looked at. */
const withoutCredentials = (credentials: string) => ({
  PUBSUB_EMULATOR_HOST: '',
  GOOGLE_APPLICATION_CREDENTIALS: credentials,
  HOME: dir,
  CLOUDSDK_CONFIG: path.join(dir, 'gcloud'),
  KPIS_TOPICS_DIR: path.join(dir, 'topics'),
  KPIS_SLACK_WEBHOOK_URL: '',
});

/** One line naming the missing credentials, and no stack or unhandled rejection after it. */
function expectOneLineFailure(run: Run, command: string): void {
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(`kpis ${command}: ${NO_CREDENTIALS}`);
  expect(run.stderr).not.toMatch(/triggerUncaughtException|\n\s+at /);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(async () => {
  // No events at all on the 26th: the DAU check raises that day.
  await buildHistoryFile(
    path.join(dir, 'w.duckdb'),
    historyWithAnomalies('2026-11-26', 35, { '2026-11-26': 'empty' }),
    { start: '2026-10-23', end: '2026-11-26' },
    NOW,
  );
});

test.each([
  ['a key file that does not exist', path.join(dir, 'missing-key.json')],
  ['no credentials anywhere', ''],
])('kpis publish --project with %s: one line, exit 1', async (_case, credentials) => {
  const run = await runKpis(
    ['publish', 'daily-kpis-trigger', '{}', '--project', 'my-project-123'],
    dir,
    NOW,
    withoutCredentials(credentials),
  );
  expectOneLineFailure(run, 'publish');
  expect(run.stdout).toBe('');
});

test('kpis monitor publishing to Pub/Sub without credentials: one line, and the alert is not taken for published', async () => {
  const monitor = ['monitor', '--warehouse', warehouse, '--date', '2026-11-26', '--checks', 'dau'];
  const failed = await runKpis(monitor, dir, NOW, {
    ...withoutCredentials(path.join(dir, 'missing-key.json')),
    KPIS_PUBLISHER: 'pubsub:my-project-123',
  });
  expectOneLineFailure(failed, 'monitor');
  // The failed publish gave its claim back: the local publisher publishes the alert now, not 15 minutes later.
  const local = await runKpis(monitor, dir, NOW, { ...withoutCredentials(''), KPIS_PUBLISHER: 'local' });
  expect(local.stderr).toBe('');
  expect(local.stdout).toContain('1 raised, 1 published to daily-kpis-alerts');
  expect(local.stdout).not.toContain('already published earlier');
});
