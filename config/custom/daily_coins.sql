-- daily_coins: coins added per day, and payers: users who added coins that day (in a game whose
-- coins are bought, the paying users). A user-defined table that reads a built-in one, the daily
-- user panel this run has just written, so it costs no second read of the raw events.
SELECT
  date,
  COUNTIF(total_coins_added > 0) AS payers,
  SUM(total_coins_added) AS coins
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY date
