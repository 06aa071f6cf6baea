-- One row per user and day of the run's window. This is the ETL's only read of the raw events,
-- and it filters on the event-time column, so BigQuery prunes to the window's partitions and a
-- daily run costs one day of data however long the history is.
CREATE TEMP TABLE {{staged}} AS
SELECT
  user_id,
  DATE(time) AS date,
  COUNT(*) AS total_events,
  CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS total_coins_added
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND user_id IS NOT NULL
GROUP BY ALL
