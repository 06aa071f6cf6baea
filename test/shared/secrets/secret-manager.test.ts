/** The Secret Manager adapter through the real client library, against a gRPC fake. */
import * as grpc from '@grpc/grpc-js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { SecretManagerSecrets } from '../../../shared/secrets/secret-manager';
import { EnvSecrets } from '../../../shared/secrets/secrets';
import { openSecrets } from '../../../shared/ports';
import { parseSettings } from '../../../shared/settings';
import { SecretManagerFake } from '../../fakes/grpc-fakes';

const LATEST = 'projects/my-project/secrets/daily-kpis-slack-webhook/versions/latest';
let fake: SecretManagerFake;
let client: SecretManagerServiceClient;

beforeEach(async () => {
  fake = new SecretManagerFake({ [LATEST]: 'https://hooks.slack.com/services/T/B/secret\n' });
  await fake.start();
  client = new SecretManagerServiceClient({
    apiEndpoint: '127.0.0.1',
    port: fake.port,
    sslCreds: grpc.credentials.createInsecure(),
  });
});
afterEach(async () => {
  await client.close();
  await fake.stop();
});

test('reads the latest version once per instance', async () => {
  const secrets = new SecretManagerSecrets(client, 'my-project');
  expect(await secrets.get('daily-kpis-slack-webhook')).toBe('https://hooks.slack.com/services/T/B/secret');
  expect(await secrets.get('daily-kpis-slack-webhook')).toBe('https://hooks.slack.com/services/T/B/secret');
  expect(fake.accessed).toEqual([LATEST]);
});

test('a secret that does not exist is null', async () => {
  const secrets = new SecretManagerSecrets(client, 'my-project');
  expect(await secrets.get('missing')).toBeNull();
  expect(fake.accessed).toEqual(['projects/my-project/secrets/missing/versions/latest']);
});

test('any other failure names the secret and is not cached', async () => {
  fake.failWith = grpc.status.PERMISSION_DENIED;
  const secrets = new SecretManagerSecrets(client, 'my-project');
  await expect(secrets.get('daily-kpis-slack-webhook')).rejects.toThrow(`cannot read secret ${LATEST}`);
  fake.failWith = null;
  expect(await secrets.get('daily-kpis-slack-webhook')).toBe('https://hooks.slack.com/services/T/B/secret');
  expect(fake.accessed).toEqual([LATEST, LATEST]);
});

test('locally the webhook comes from KPIS_SLACK_WEBHOOK_URL; KPIS_SECRETS picks Secret Manager', async () => {
  const open = (env: NodeJS.ProcessEnv) => openSecrets(parseSettings({}, env), env);
  const env = await open({ KPIS_SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook' });
  expect(env).toBeInstanceOf(EnvSecrets);
  expect(await env.get('daily-kpis-slack-webhook')).toBe('http://127.0.0.1:9/hook');
  expect(await (await open({ KPIS_SLACK_SECRET: 'other', KPIS_SLACK_WEBHOOK_URL: 'http://x' })).get('other')).toBe(
    'http://x',
  );
  expect(await (await open({})).get('daily-kpis-slack-webhook')).toBeNull();
  expect(await open({ KPIS_SECRETS: 'secret-manager:my-project' })).toBeInstanceOf(SecretManagerSecrets);
  expect(() => parseSettings({}, { KPIS_SECRETS: 'vault' })).toThrow(
    'KPIS_SECRETS must be env or secret-manager:PROJECT_ID, got "vault"',
  );
});
