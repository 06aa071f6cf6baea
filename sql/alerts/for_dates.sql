-- The alerts delivered to Pub/Sub about a range of days, oldest first.
SELECT payload
FROM {{alerts}}
WHERE channel = 'pubsub' AND delivered_at IS NOT NULL AND date BETWEEN @start_date AND @end_date
ORDER BY date, alert_id
