-- daily_revenue: per day, revenue, payers, first-time payers and the ratios built on them:
-- ARPDAU (revenue / DAU), ARPPU (revenue / payers), conversion (first-time payers / DAU); a ratio
-- is NULL when its denominator is 0. Revenue is the sum of coins_added of purchase events: to
-- count something else, change the event_name and the summed column of the purchases CTE (and
-- event_name in first_purchase.sql). Reads one day of the events' four narrow columns, the
-- panel's day, user_segments and the first_purchase rows of the day, which this run has just
-- written. A day built before an earlier day with a purchase counts that payer as first-time:
-- rebuild it once the earlier days are built (README "Order of builds").
-- Rows per day: the all-users row (platform and country '(all)'), one per platform (country
-- '(all)') and one per country (platform '(all)'), from each user's segment (user_segments.sql,
-- '(unknown)' when NULL): the segments of a day add up to its all-users row.
WITH purchases AS (
  SELECT
    user_id,
    DATE(DATETIME(time, @time_zone)) AS date,
    SUM(COALESCE(coins_added, 0)) AS amount
  FROM {{source}}
  WHERE time >= @start_ts
    AND time < @end_ts
    AND user_id IS NOT NULL
    AND event_name = 'purchase'
  GROUP BY user_id, DATE(DATETIME(time, @time_zone))
),
first_time AS (
  SELECT user_id, first_purchase_date
  FROM {{first_purchase}}
  WHERE first_purchase_date BETWEEN @start_date AND @end_date
),
per_user AS (
  -- One row per active user and day: every payer is active that day (the panel reads the same events).
  SELECT
    p.date,
    COALESCE(s.platform, '(unknown)') AS platform,
    COALESCE(s.country, '(unknown)') AS country,
    COALESCE(r.amount, 0) AS revenue,
    CASE WHEN r.user_id IS NULL THEN 0 ELSE 1 END AS payer,
    CASE WHEN f.user_id IS NULL THEN 0 ELSE 1 END AS first_time_payer
  FROM {{daily_user_panel}} AS p
  LEFT JOIN {{user_segments}} AS s ON s.user_id = p.user_id
  LEFT JOIN purchases AS r ON r.user_id = p.user_id AND r.date = p.date
  LEFT JOIN first_time AS f ON f.user_id = p.user_id AND f.first_purchase_date = p.date
  WHERE p.date BETWEEN @start_date AND @end_date
),
levels AS (
  -- Each user counts in three rows of the day: all users, its platform, its country.
  SELECT 0 AS level UNION ALL SELECT 1 UNION ALL SELECT 2
),
totals AS (
  SELECT
    u.date,
    CASE WHEN l.level = 1 THEN u.platform ELSE '(all)' END AS platform,
    CASE WHEN l.level = 2 THEN u.country ELSE '(all)' END AS country,
    COUNT(*) AS dau,
    CAST(SUM(u.revenue) AS INT64) AS revenue,
    SUM(u.payer) AS payers,
    SUM(u.first_time_payer) AS first_time_payers
  FROM per_user AS u
  CROSS JOIN levels AS l
  GROUP BY 1, 2, 3
)
SELECT
  date,
  platform,
  country,
  dau,
  revenue,
  payers,
  first_time_payers,
  SAFE_DIVIDE(revenue, dau) AS arpdau,
  SAFE_DIVIDE(revenue, payers) AS arppu,
  SAFE_DIVIDE(first_time_payers, dau) AS conversion
FROM totals
