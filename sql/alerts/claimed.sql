-- The alerts one invocation claimed on a channel.
SELECT alert_id
FROM {{alerts}}
WHERE claim_id = @claim_id AND channel = @channel AND date BETWEEN @start_date AND @end_date
