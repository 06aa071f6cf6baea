-- Alerts delivered to Pub/Sub since @since that Slack has not taken yet: a failed post is retried
-- by the next monitor run, whatever day that run checks. The table is small (one row per alert and
-- channel), so reading it whole costs little.
SELECT published.payload
FROM {{alerts}} AS published
WHERE published.channel = 'pubsub'
  AND published.delivered_at IS NOT NULL
  AND published.sent_at >= @since
  AND NOT EXISTS (
    SELECT 1
    FROM {{alerts}} AS posted
    WHERE posted.channel = 'slack' AND posted.alert_id = published.alert_id AND posted.delivered_at IS NOT NULL
  )
ORDER BY published.date, published.alert_id
