-- Marks claimed alerts delivered once the channel took them: from then on no run sends them again.
-- The ids arrive as numbered parameters, one per alert.
UPDATE {{alerts}}
SET delivered_at = @delivered_at
WHERE claim_id = @claim_id AND channel = @channel AND date BETWEEN @start_date AND @end_date AND alert_id IN ({{alert_ids}})
