-- daily_user_panel: one row per user and active day, with event and coin totals. This is the ETL's
-- one read of the raw events for the built-in tables (installs and last_activity read this table
-- after it is written, in the same transaction), and it filters on the event-time column, so
-- BigQuery prunes to the window's partitions and a daily run costs one day of data.
SELECT
  user_id,
  DATE(DATETIME(time, @time_zone)) AS date,
  COUNT(*) AS total_events,
  CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS total_coins_added
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND user_id IS NOT NULL
GROUP BY user_id, DATE(DATETIME(time, @time_zone))
