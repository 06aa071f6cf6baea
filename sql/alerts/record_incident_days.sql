-- Records a run's raised days (channel 'incident', keyed by the day's alert_id): a rerun of a day
-- replaces its record with the newest judgement, so late data that moved an incident's start is
-- what the next day reads.
MERGE INTO {{alerts}} AS t
USING (
{{rows}}
) AS s
ON t.alert_id = s.alert_id AND t.channel = s.channel
WHEN MATCHED THEN
  UPDATE SET payload = s.payload, message = s.message, severity = s.severity, run_id = s.run_id, claim_id = s.claim_id, raised_at = s.raised_at, sent_at = s.sent_at, delivered_at = s.delivered_at
WHEN NOT MATCHED THEN
  INSERT ({{columns}}) VALUES ({{source_columns}})
