-- Where a job stands in the run log: its newest row matching the check (job, file, step), and its
-- newest end or error row, which says how its latest finished run ended. @since bounds the read to
-- recent partitions. {{ts}} and {{dt}} read ts and dt as TIMESTAMP and DATE in either run-log
-- shape (README "Coming from the cron job"). A check without a job_name follows the ETL under any
-- name a crontab line's --etl-name gave it: @etl_writes (LIKE 'wrote DATASET.% for %', the ETL's
-- info rows, shared/etl/run-etl.ts) finds the job names that wrote its dataset; NULL matches none.
-- Such a check reads the ETL's rows only (job_type etl): a monitor's crontab line may carry the
-- same name, and its hourly end rows must not pass for finished ETL runs.
WITH etl_names AS (
  SELECT DISTINCT job_name
  FROM {{daily_logs}}
  WHERE {{dt}} >= @since AND job_type = 'etl' AND log_type = 'info' AND message LIKE @etl_writes
),
job_rows AS (
  SELECT uid, {{ts}} AS ts, job_name, job_type, log_type, step_name, file_name, step_id, message
  FROM {{daily_logs}}
  WHERE {{dt}} >= @since
    AND (job_name = @job_name OR job_name IN (SELECT job_name FROM etl_names))
    AND (@etl_writes IS NULL OR job_type = 'etl')
),
newest AS (
  SELECT uid, ts, job_name, log_type, message
  FROM job_rows
  WHERE log_type IN ('end', 'error')
  QUALIFY ROW_NUMBER() OVER (ORDER BY ts DESC, step_id DESC) = 1
)
SELECT
  (
    SELECT MAX(ts)
    FROM job_rows
    WHERE (step_name = @step_name AND (@file_name IS NULL OR file_name = @file_name) AND (@message_like IS NULL OR message LIKE @message_like))
      -- A check from the cron job's log_config also counts the end rows daily-kpis' ETL writes for the job.
      OR (@daily_kpis_end AND step_name = 'end' AND log_type = 'end' AND job_type = 'etl')
  ) AS last_finished_at,
  newest.uid AS newest_run_id,
  newest.job_name AS newest_job_name,
  newest.ts AS newest_at,
  newest.log_type AS newest_log_type,
  newest.message AS newest_message
FROM (SELECT 1 AS anchor) AS one_row
LEFT JOIN newest ON TRUE
