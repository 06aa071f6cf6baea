/**
 * The Google Analytics (Firebase) BigQuery export, as daily-kpis reads it: the nested schema of
 * its `events_YYYYMMDD` and `events_intraday_YYYYMMDD` tables (the fields the mapping, the local
 * loader and the offline analyzer need, after Google's "BigQuery Export schema" page), and which
 * shards a window of KPI days reads.
 */
import { addDays, type DateRange, type IsoDate } from '../dates';
import type { ColumnType } from '../schema';

/** A field of the export: a scalar, a STRUCT of fields, or an ARRAY of one type. */
export type NestedType = ColumnType | { struct: NestedField[] } | { array: NestedType };
export interface NestedField {
  name: string;
  type: NestedType;
}

const text = (...names: string[]): NestedField[] => names.map((name) => ({ name, type: 'STRING' }));
const VALUE: NestedField[] = [
  { name: 'string_value', type: 'STRING' },
  { name: 'int_value', type: 'INT64' },
  { name: 'float_value', type: 'FLOAT64' },
  { name: 'double_value', type: 'FLOAT64' },
];

/** The export's event fields daily-kpis knows; a table or file may hold more, which are ignored. */
export const GA4_EVENT_FIELDS: NestedField[] = [
  { name: 'event_date', type: 'STRING' },
  { name: 'event_timestamp', type: 'INT64' },
  { name: 'event_name', type: 'STRING' },
  {
    name: 'event_params',
    type: {
      array: {
        struct: [
          { name: 'key', type: 'STRING' },
          { name: 'value', type: { struct: VALUE } },
        ],
      },
    },
  },
  { name: 'event_previous_timestamp', type: 'INT64' },
  { name: 'event_value_in_usd', type: 'FLOAT64' },
  { name: 'event_bundle_sequence_id', type: 'INT64' },
  { name: 'user_id', type: 'STRING' },
  { name: 'user_pseudo_id', type: 'STRING' },
  {
    name: 'user_properties',
    type: {
      array: {
        struct: [
          { name: 'key', type: 'STRING' },
          { name: 'value', type: { struct: [...VALUE, { name: 'set_timestamp_micros', type: 'INT64' }] } },
        ],
      },
    },
  },
  { name: 'user_first_touch_timestamp', type: 'INT64' },
  {
    name: 'device',
    type: {
      struct: text(
        'category',
        'mobile_brand_name',
        'mobile_model_name',
        'operating_system',
        'operating_system_version',
        'language',
      ),
    },
  },
  { name: 'geo', type: { struct: text('continent', 'sub_continent', 'country', 'region', 'city', 'metro') } },
  { name: 'app_info', type: { struct: text('id', 'version', 'install_store', 'firebase_app_id', 'install_source') } },
  { name: 'platform', type: 'STRING' },
  { name: 'stream_id', type: 'STRING' },
];

/** The export's table name prefix: `events_` matches the final shards and the intraday ones. */
export const GA4_PREFIX = 'events_';
/** The wildcard table of a source in the ETL config (its `table_src`): what BigQuery calls it. */
export const GA4_WILDCARD = 'events_*';
/** The user id columns the export has. */
export const GA4_USER_KEYS = ['user_pseudo_id', 'user_id'] as const;
export type Ga4UserKey = (typeof GA4_USER_KEYS)[number];

/** A GA4 export source, from the ETL config's group `source`. */
export interface Ga4Source {
  format: 'ga4_export';
  dataset: string;
  user_key: Ga4UserKey;
  /** The event parameter carrying coins or revenue (coins_added); null: coins_added is NULL. */
  value_param: string | null;
}

/** A GA4 event parameter name: letters, digits and underscores, up to 40, starting with a letter (Google's rule). */
export const GA4_PARAM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

const compact = (day: string): string => day.replaceAll('-', '');

/**
 * The `_TABLE_SUFFIX` ranges a window of KPI days reads: final and intraday shards, a day wider
 * on each side, because a shard holds a day in the property's zone, which may be up to a day
 * off the business zone's. The query's filter on `time` then keeps the window's events.
 */
export function shardRanges(window: DateRange): [string, string][] {
  const first = compact(addDays(window.start, -1));
  const last = compact(addDays(window.end, 1));
  return [
    [first, last],
    [`intraday_${first}`, `intraday_${last}`],
  ];
}

/** The KPI days a shard's suffix (`20261130` or `intraday_20261130`) may hold events of: its day and the ones either side. */
export function shardDays(suffix: string): IsoDate[] {
  const day = suffix.slice(-8);
  const iso = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
  return [addDays(iso, -1), iso, addDays(iso, 1)];
}

/** An export field's type in DuckDB's words (STRUCT(...), T[]). */
export function duckDbType(type: NestedType): string {
  if (typeof type === 'string')
    return (
      ({ STRING: 'VARCHAR', INT64: 'BIGINT', FLOAT64: 'DOUBLE', BOOL: 'BOOLEAN' } as Record<string, string>)[type] ??
      type
    );
  if ('array' in type) return `${duckDbType(type.array)}[]`;
  return `STRUCT(${type.struct.map((field) => `${field.name} ${duckDbType(field.type)}`).join(', ')})`;
}

/**
 * Each KPI day's version from its shards' stamps: the stamps of every shard that may hold its
 * events (shardDays), so a rewrite of any of them restates it. Days no shard reaches are absent.
 */
export function versionsByDay(shards: { suffix: string; stamp: string }[], range: DateRange): Map<IsoDate, string> {
  const byDay = new Map<IsoDate, string[]>();
  for (const { suffix, stamp } of [...shards].sort((a, b) =>
    a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0,
  )) {
    for (const day of shardDays(suffix)) {
      if (day < range.start || day > range.end) continue;
      byDay.set(day, [...(byDay.get(day) ?? []), `${suffix} ${stamp}`]);
    }
  }
  return new Map([...byDay].map(([day, stamps]) => [day, stamps.join('; ')]));
}
