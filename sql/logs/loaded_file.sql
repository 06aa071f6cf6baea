-- When a file with this content was last loaded into this table: its `loaded` row in the run log,
-- whose message names the file's SHA-256 and the table. The run log is small; it is read whole.
SELECT MAX({{ts}}) AS loaded_at
FROM {{daily_logs}}
WHERE job_name = @job_name AND step_name = 'loaded' AND message = @message
