-- daily_events: events, distinct users and coins per day and event name. A user-defined table
-- (config/daily_kpis_config.json, strategy replace_days): it reads the raw events through
-- {{source}}, filtered on event time so BigQuery prunes to the run's days.
SELECT
  DATE(time) AS date,
  COALESCE(event_name, '(none)') AS event_name,
  COUNT(*) AS events,
  COUNT(DISTINCT user_id) AS users,
  CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS coins
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
GROUP BY DATE(time), COALESCE(event_name, '(none)')
