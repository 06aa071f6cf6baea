-- installs: users whose first day seen is that day, from the installs table.
SELECT install_date AS day, COUNT(*) AS value
FROM {{table}}
WHERE install_date BETWEEN @start_date AND @end_date
GROUP BY install_date
