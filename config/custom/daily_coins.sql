-- daily_coins: coins added per day, and payers (users with a purchase that day). A user-defined
-- table that reads another one, daily_events, written earlier in the same run: the run orders
-- the tables by what they read.
SELECT
  date,
  SUM(CASE WHEN event_name = 'purchase' THEN users ELSE 0 END) AS payers,
  SUM(coins) AS coins
FROM {{daily_events}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY date
