-- The run's events, aggregated once for all KPI tables. This is the ETL's only read of the raw
-- events, and it filters on the event-time column, so BigQuery prunes to the window's partitions
-- and a daily run costs one day of data however long the history is.

-- One row per user and day.
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
GROUP BY ALL;

-- One row per user: the first and last day seen in the run's window.
CREATE TEMP TABLE {{staged_users}} AS
SELECT user_id, MIN(date) AS first_date, MAX(date) AS last_date
FROM {{staged}}
GROUP BY user_id
