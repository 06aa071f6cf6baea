-- Gives a claimed alert back when sending it failed, so the next run sends it again at once
-- (without this, it would wait for the claim to go stale).
DELETE FROM {{alerts}}
WHERE claim_id = @claim_id AND channel = @channel AND alert_id = @alert_id AND date = @date AND delivered_at IS NULL
