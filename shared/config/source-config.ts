/**
 * A job group's `source` (daily_kpis_config.json): where `{{source}}` reads events, for every
 * table of the group.
 * - `{"format": "events", "dataset": D, "table": T}`: a table of the canonical columns, the
 *   default of each entry's `dataset_src` / `table_src` (which may still name another);
 * - `{"format": "ga4_export", "dataset": "analytics_123", "user_key": ..., "value_param": ...}`:
 *   the Google Analytics (Firebase) export's shards, mapped to the canonical columns by
 *   sql/sources/ga4_export.sql; an entry then names no source of its own.
 * Without it, each entry's `dataset_src` / `table_src` (default gamepltx.fact), as before.
 */
import Joi from 'joi';
import { GA4_PARAM_NAME, GA4_USER_KEYS, GA4_WILDCARD, type Ga4Source } from '../events/ga4-export';
import { identifier, oneOf } from './validate';

export const SOURCE_FORMATS = ['events', 'ga4_export'] as const;

export type GroupSource = { format: 'events'; dataset?: string; table?: string } | Ga4Source;

const DEFAULT_SOURCE = { dataset: 'gamepltx', table: 'fact' } as const;

const paramRule =
  '{{#label}} must be a GA4 event parameter name (a letter, then letters, digits or underscores, at most 40), got {{#value}}';

export const groupSourceSchema = Joi.object({
  format: oneOf(SOURCE_FORMATS).required(),
  dataset: identifier.when('format', { is: 'ga4_export', then: Joi.required() }),
  table: identifier.when('format', { is: 'ga4_export', then: Joi.forbidden() }),
  user_key: oneOf(GA4_USER_KEYS).when('format', {
    is: 'ga4_export',
    then: Joi.optional().default('user_pseudo_id'),
    otherwise: Joi.forbidden(),
  }),
  value_param: Joi.string()
    .pattern(GA4_PARAM_NAME)
    .allow(null)
    .messages({ 'string.pattern.base': paramRule })
    .when('format', { is: 'ga4_export', then: Joi.optional().default(null), otherwise: Joi.forbidden() }),
});

/**
 * An entry's source: `dataset_src` / `table_src` (and the GA4 settings for an export), after the
 * group's `source`. `fail(field, problem)` reports against the entry.
 */
export function entrySource(
  entry: { dataset_src?: string; table_src?: string },
  group: GroupSource | undefined,
  fail: (field: string, problem: string) => never,
): { dataset_src: string; table_src: string; ga4?: Ga4Source } {
  if (group?.format === 'ga4_export') {
    const own = entry.dataset_src !== undefined ? 'dataset_src' : entry.table_src !== undefined ? 'table_src' : null;
    if (own)
      fail(
        own,
        `the group's source is the GA4 export (dataset ${group.dataset}); an entry reads no other source: remove ${own}`,
      );
    return { dataset_src: group.dataset, table_src: GA4_WILDCARD, ga4: group };
  }
  return {
    dataset_src: entry.dataset_src ?? group?.dataset ?? DEFAULT_SOURCE.dataset,
    table_src: entry.table_src ?? group?.table ?? DEFAULT_SOURCE.table,
  };
}
