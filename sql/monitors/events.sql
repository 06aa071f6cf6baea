-- events: every event of that day, all users together, from the daily user panel.
SELECT spine.day, COALESCE(daily.value, 0) AS value
FROM {{date_spine}} AS spine
LEFT JOIN (
  SELECT date, SUM(total_events) AS value
  FROM {{table}}
  WHERE date BETWEEN @start_date AND @end_date
  GROUP BY date
) AS daily ON daily.date = spine.day
ORDER BY spine.day
