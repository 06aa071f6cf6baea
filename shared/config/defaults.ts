/**
 * The shipped config files, for the settings that name them (shared/settings.ts). Kept apart from
 * the loaders, so a function's cold start reads these paths without loading joi and the configs.
 */
import path from 'node:path';

/** The repository's config/ folder, from the sources (shared/config/) or the build (dist/shared/config/). */
const CONFIG_DIR = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../config' : '../../config',
);

export const DEFAULT_CONFIG_FILES = {
  etl: path.join(CONFIG_DIR, 'daily_kpis_config.json'),
  kpis: path.join(CONFIG_DIR, 'kpis_config.json'),
  logs: path.join(CONFIG_DIR, 'log_config.json'),
  calendar: path.join(CONFIG_DIR, 'calendar.json'),
} as const;
