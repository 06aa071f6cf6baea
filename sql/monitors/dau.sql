-- dau: users with any event that day, from the daily user panel. The date spine makes a day
-- without rows a 0 instead of a missing row; the partition filter keeps the read to the window.
SELECT spine.day, COALESCE(daily.value, 0) AS value
FROM {{date_spine}} AS spine
LEFT JOIN (
  SELECT date, COUNT(*) AS value
  FROM {{table}}
  WHERE date BETWEEN @start_date AND @end_date
  GROUP BY date
) AS daily ON daily.date = spine.day
ORDER BY spine.day
