-- The alerts published about a range of days, oldest first.
SELECT payload
FROM {{alerts}}
WHERE channel = 'pubsub' AND date BETWEEN @start_date AND @end_date
ORDER BY date, alert_id
