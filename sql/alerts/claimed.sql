-- The alerts one invocation claimed on a channel and has not delivered yet.
SELECT alert_id
FROM {{alerts}}
WHERE claim_id = @claim_id AND channel = @channel AND date BETWEEN @start_date AND @end_date AND delivered_at IS NULL
