-- Gives a claimed alert back when sending it failed, so the next run sends it again.
DELETE FROM {{alerts}}
WHERE claim_id = @claim_id AND channel = @channel AND alert_id = @alert_id AND date = @date
