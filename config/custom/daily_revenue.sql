-- daily_revenue: per day, revenue, payers, first-time payers and the ratios built on them:
-- ARPDAU (revenue / DAU), ARPPU (revenue / payers), conversion (first-time payers / DAU); a ratio
-- is NULL when its denominator is 0. Revenue is the sum of coins_added of purchase events: to
-- count something else, change the event_name and the summed column of the purchases CTE (and
-- event_name in first_purchase.sql). Reads one day of the events' four narrow columns, the
-- panel's day and the first_purchase rows of the day, which this run has just written. A day
-- built before an earlier day with a purchase counts that payer as first-time: rebuild it once
-- the earlier days are built (README "Order of builds").
WITH purchases AS (
  SELECT
    user_id,
    DATE(DATETIME(time, @time_zone)) AS date,
    COALESCE(coins_added, 0) AS amount
  FROM {{source}}
  WHERE time >= @start_ts
    AND time < @end_ts
    AND user_id IS NOT NULL
    AND event_name = 'purchase'
),
revenue AS (
  SELECT date, SUM(amount) AS revenue, COUNT(DISTINCT user_id) AS payers
  FROM purchases
  GROUP BY date
),
first_time AS (
  SELECT first_purchase_date AS date, COUNT(*) AS first_time_payers
  FROM {{first_purchase}}
  WHERE first_purchase_date BETWEEN @start_date AND @end_date
  GROUP BY first_purchase_date
),
dau AS (
  SELECT date, COUNT(*) AS dau
  FROM {{daily_user_panel}}
  WHERE date BETWEEN @start_date AND @end_date
  GROUP BY date
),
joined AS (
  SELECT
    d.date,
    d.dau,
    CAST(COALESCE(r.revenue, 0) AS INT64) AS revenue,
    COALESCE(r.payers, 0) AS payers,
    COALESCE(f.first_time_payers, 0) AS first_time_payers
  FROM dau AS d
  LEFT JOIN revenue AS r ON r.date = d.date
  LEFT JOIN first_time AS f ON f.date = d.date
)
SELECT
  date,
  dau,
  revenue,
  payers,
  first_time_payers,
  SAFE_DIVIDE(revenue, dau) AS arpdau,
  SAFE_DIVIDE(revenue, payers) AS arppu,
  SAFE_DIVIDE(first_time_payers, dau) AS conversion
FROM joined
