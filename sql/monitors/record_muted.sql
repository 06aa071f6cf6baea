-- Records verdicts muted by the calendar in the alert history, on the channel `muted`: one row per
-- alert, kept once (a rerun of the day inserts nothing), delivered_at set at once since nothing is
-- sent. Pub/Sub and Slack read only their own channels, so a muted row is never published.
MERGE INTO {{alerts}} AS t
USING (
{{rows}}
) AS s
ON t.alert_id = s.alert_id AND t.channel = s.channel
WHEN NOT MATCHED THEN
  INSERT ({{columns}}) VALUES ({{source_columns}})
