/** The secrets port, and the environment adapter used locally. */

export interface Secrets {
  /** The secret's current value, or null when it does not exist. */
  get(name: string): Promise<string | null>;
}

/**
 * Secrets from environment variables: `variables` maps a secret name to the variable holding it.
 * It keeps the environment itself: the variables are named by the KPI config (slack_webhooks), so
 * they cannot be declared settings (shared/settings.ts), and like Secret Manager's they are read
 * when asked for.
 */
export class EnvSecrets implements Secrets {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly variables: Record<string, string>,
  ) {}

  async get(name: string): Promise<string | null> {
    const variable = this.variables[name];
    const value = variable === undefined ? undefined : this.env[variable];
    return value === undefined || value === '' ? null : value;
  }
}
