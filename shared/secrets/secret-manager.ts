/** The Secret Manager adapter of the secrets port: the latest version, read once per instance. */
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { Secrets } from './secrets';

const NOT_FOUND = 5; // gRPC status code
const ACCESS_TIMEOUT_MS = 10_000;

export class SecretManagerSecrets implements Secrets {
  private readonly cache = new Map<string, Promise<string | null>>();

  constructor(
    private readonly client: SecretManagerServiceClient,
    private readonly projectId: string,
  ) {}

  get(name: string): Promise<string | null> {
    let value = this.cache.get(name);
    if (!value) {
      value = this.access(name);
      // A failed read is not cached, so the next call tries again.
      value.catch(() => this.cache.delete(name));
      this.cache.set(name, value);
    }
    return value;
  }

  private async access(name: string): Promise<string | null> {
    const resource = name.startsWith('projects/') ? name : `projects/${this.projectId}/secrets/${name}/versions/latest`;
    try {
      // A bounded wait: the caller (Slack delivery) must not hang on an unreachable API.
      const [version] = await this.client.accessSecretVersion({ name: resource }, { timeout: ACCESS_TIMEOUT_MS });
      const data = version.payload?.data;
      if (data === null || data === undefined) return null;
      return (typeof data === 'string' ? data : Buffer.from(data).toString('utf8')).trim();
    } catch (error) {
      if ((error as { code?: number }).code === NOT_FOUND) return null;
      // The message names the secret, never its value.
      throw new Error(`cannot read secret ${resource}: ${(error as Error).message}`, { cause: error });
    }
  }
}
