/** The secrets port, and the environment adapter used locally. */

export interface Secrets {
  /** The secret's current value, or null when it does not exist. */
  get(name: string): Promise<string | null>;
}

/** Secrets from environment variables: `variables` maps a secret name to the variable holding it. */
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
