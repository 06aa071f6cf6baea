-- events: every event of that day, all users together, from the daily user panel.
SELECT date AS day, SUM(total_events) AS value
FROM {{table}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY date
