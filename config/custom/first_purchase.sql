-- first_purchase: each user's days with a purchase in the run, written with keep_earliest, so one
-- row per user holds the first purchase day ever processed (no GROUP BY: the strategy keeps the
-- earliest). daily_revenue counts first-time payers from it instead of reading every earlier
-- purchase. What counts as a purchase is the event_name below, the same as in daily_revenue.sql.
SELECT
  user_id,
  DATE(DATETIME(time, @time_zone)) AS first_purchase_date
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND user_id IS NOT NULL
  AND event_name = 'purchase'
