-- Claims alerts for sending on one channel: a row for each alert that has none on that channel yet.
-- The invocation then sends exactly the rows that carry its claim_id, so a monitor run twice for
-- the same day sends each alert once. The WHEN MATCHED clause makes this a mutating statement: on
-- BigQuery, two concurrent claims on the table then conflict and one is retried after the other
-- committed, where an insert-only MERGE would let both insert.
MERGE INTO {{alerts}} AS t
USING (
{{rows}}
) AS s
ON t.alert_id = s.alert_id AND t.channel = s.channel
WHEN MATCHED AND t.claim_id = s.claim_id THEN
  UPDATE SET sent_at = s.sent_at
WHEN NOT MATCHED THEN
  INSERT ({{columns}}) VALUES ({{source_columns}})
