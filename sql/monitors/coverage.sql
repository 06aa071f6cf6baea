-- Which days of the window have any events at all (users in the daily user panel), for the
-- series wrapper: a day without events raises for every KPI, a day before the first one with data
-- gives no verdict.
SELECT date AS day, COUNT(*) AS value
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY date
