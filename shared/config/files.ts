/** Where each config file comes from: one rule for the CLI, the functions and the local stack. */
import { DEFAULT_CALENDAR } from './calendar';
import { DEFAULT_ETL_CONFIG } from './etl-config';
import { DEFAULT_KPIS_CONFIG } from './kpi-checks';
import { DEFAULT_LOG_CONFIG } from './log-checks';

export const CONFIG_FILES = {
  etl: { variable: 'KPIS_CONFIG', file: DEFAULT_ETL_CONFIG },
  kpis: { variable: 'KPIS_MONITOR_CONFIG', file: DEFAULT_KPIS_CONFIG },
  logs: { variable: 'KPIS_LOG_CONFIG', file: DEFAULT_LOG_CONFIG },
  calendar: { variable: 'KPIS_CALENDAR', file: DEFAULT_CALENDAR },
} as const;

/** The flag, else the environment variable (empty counts as unset, as for KPIS_WAREHOUSE), else the shipped file. */
export function configPath(kind: keyof typeof CONFIG_FILES, env: NodeJS.ProcessEnv, flag?: string): string {
  const { variable, file } = CONFIG_FILES[kind];
  return flag ?? (env[variable] || file);
}
