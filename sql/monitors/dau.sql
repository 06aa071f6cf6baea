-- dau: users with any event that day, from the daily user panel. The partition filter keeps the
-- read to the window.
SELECT date AS day, COUNT(*) AS value
FROM {{table}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY date
