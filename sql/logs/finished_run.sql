-- A run that already finished: its end row, if it has one. A redelivered trigger carries the same
-- run id, so this says whether the ETL of that message already committed.
SELECT
  MIN({{ts}}) AS started_at,
  MAX({{ts}}) AS finished_at,
  MAX(step_id) AS last_step_id,
  -- The days it restated (restate rows, 'restated DAY: why'), for its completion event again.
  STRING_AGG(CASE WHEN step_name = 'restate' THEN message END, '\n') AS restated
FROM {{daily_logs}}
WHERE {{dt}} >= @since AND uid = @uid AND job_name = @job_name
HAVING COUNTIF(log_type = 'end') > 0
