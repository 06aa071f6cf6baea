-- The Google Analytics (Firebase) BigQuery export as the canonical source columns, what the source placeholder reads for a source of format ga4_export (shared/etl/sources.ts renders it in parentheses).
-- It reads only the window's shards: `_TABLE_SUFFIX` between constants (the window's days, a day wider on each side), final and intraday, so BigQuery scans those tables and no others.
-- A day present as a final shard and as an intraday one is read from the final one (the export writes the final table, then drops the intraday one): an event is counted once.
-- coins_added is the configured event parameter's value, whichever of its fields holds it (a fraction rounded, a text of digits read as a number).
WITH shards AS (
  SELECT *, _TABLE_SUFFIX AS shard
  FROM {{events}}
  WHERE _TABLE_SUFFIX BETWEEN {{first_shard}} AND {{last_shard}}
    OR _TABLE_SUFFIX BETWEEN {{first_intraday}} AND {{last_intraday}}
),
final_days AS (
  SELECT DISTINCT shard FROM shards WHERE NOT STARTS_WITH(shard, 'intraday_')
)
SELECT
  {{user_key}} AS user_id,
  TIMESTAMP_MICROS(event_timestamp) AS time,
  event_name,
  (
    SELECT
      COALESCE(
        p.value.int_value,
        CAST(ROUND(p.value.double_value) AS INT64),
        CAST(ROUND(p.value.float_value) AS INT64),
        CASE WHEN REGEXP_CONTAINS(p.value.string_value, '^-?[0-9]{1,18}$') THEN CAST(p.value.string_value AS INT64) END
      )
    FROM {{params}}
    WHERE p.key = {{value_param}}
    LIMIT 1
  ) AS coins_added,
  platform,
  geo.country AS country
FROM shards
WHERE (NOT STARTS_WITH(shard, 'intraday_') OR SUBSTR(shard, 10) NOT IN (SELECT shard FROM final_days))
  AND {{user_key}} IS NOT NULL
