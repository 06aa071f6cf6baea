-- Claims alerts for sending on one channel: a row for each alert that has none on that channel
-- yet, or whose earlier claim was never marked delivered and is older than @stale_before (the
-- invocation that held it crashed, or could not give it back). The invocation then sends exactly
-- the rows that carry its claim_id, so a monitor run twice for the same day sends each alert once,
-- and a crash loses none. The WHEN MATCHED clause makes this a mutating statement: on BigQuery,
-- two concurrent claims on the table then conflict and one is retried after the other committed,
-- where an insert-only MERGE would let both insert.
MERGE INTO {{alerts}} AS t
USING (
{{rows}}
) AS s
ON t.alert_id = s.alert_id AND t.channel = s.channel
WHEN MATCHED AND t.delivered_at IS NULL AND (t.claim_id = s.claim_id OR t.sent_at < @stale_before) THEN
  UPDATE SET claim_id = s.claim_id, sent_at = s.sent_at, run_id = s.run_id
WHEN NOT MATCHED THEN
  INSERT ({{columns}}) VALUES ({{source_columns}})
