/**
 * The ETL config, config/daily_kpis_config.json, in the seed's shape: a job group holding `kpis`,
 * one entry per KPI table with its source, destination dataset and whether it runs.
 */
import path from 'node:path';
import Joi from 'joi';
import { KPI_TABLES, type KpiTable } from '../schema';
import { loadJsonConfig } from './validate';

export const CONFIG_DIR = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../config' : '../../config');
export const DEFAULT_ETL_CONFIG = path.join(CONFIG_DIR, 'daily_kpis_config.json');

export interface KpiConfig {
  dataset_src: string;
  table_src: string;
  dataset_dst: string;
  description: string;
  isEnable: boolean;
}

export interface EtlJob {
  /** The group's key, e.g. daily_kpis: the job_name in the run log and on BigQuery jobs. */
  jobName: string;
  kpis: Partial<Record<KpiTable, KpiConfig>>;
}

/** Dataset and table names: letters, digits and underscores, as BigQuery and DuckDB both accept. */
const identifier = Joi.string().pattern(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/).messages({
  'string.pattern.base': '{{#label}} must be letters, digits and underscores, starting with a letter or underscore, got {{#value}}',
});

const kpiSchema = Joi.object<KpiConfig>({
  dataset_src: identifier.default('gamepltx'),
  table_src: identifier.default('fact'),
  dataset_dst: identifier.default('daily_kpis'),
  description: Joi.string().allow('').default(''),
  isEnable: Joi.boolean().default(true),
});

const kpiEntries = Object.fromEntries(KPI_TABLES.map((name) => [name, kpiSchema]));

export const etlConfigSchema = Joi.object()
  .pattern(
    identifier,
    Joi.object({
      kpis: Joi.object(kpiEntries)
        .min(1)
        .required()
        .messages({ 'object.unknown': `{{#label}} is not a KPI table; allowed: ${KPI_TABLES.join(', ')}` }),
    }),
  )
  .length(1)
  .messages({ 'object.length': 'must hold exactly one job group, such as daily_kpis, holding kpis' });

export function loadEtlConfig(file: string = DEFAULT_ETL_CONFIG): EtlJob {
  const config = loadJsonConfig<Record<string, { kpis: Partial<Record<KpiTable, KpiConfig>> }>>(file, etlConfigSchema);
  const [jobName, group] = Object.entries(config)[0] as [string, { kpis: Partial<Record<KpiTable, KpiConfig>> }];
  return { jobName, kpis: group.kpis };
}
