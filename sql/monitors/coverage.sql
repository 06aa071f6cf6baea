-- Which days of the window have any events at all (a row in the daily user panel), and the first
-- such day: a day without events raises for every KPI, a day before the first one gives no verdict.
SELECT
  spine.day,
  COALESCE(daily.users, 0) AS active_users,
  MIN(daily.date) OVER () AS first_day
FROM {{date_spine}} AS spine
LEFT JOIN (
  SELECT date, COUNT(*) AS users
  FROM {{daily_user_panel}}
  WHERE date BETWEEN @start_date AND @end_date
  GROUP BY date
) AS daily ON daily.date = spine.day
ORDER BY spine.day
