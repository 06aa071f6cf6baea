-- installs: users whose first day seen is that day, from the installs table.
SELECT spine.day, COALESCE(daily.value, 0) AS value
FROM {{date_spine}} AS spine
LEFT JOIN (
  SELECT install_date, COUNT(*) AS value
  FROM {{table}}
  WHERE install_date BETWEEN @start_date AND @end_date
  GROUP BY install_date
) AS daily ON daily.install_date = spine.day
ORDER BY spine.day
