-- The ETL's runs in a range of days, for `kpis report`: each run's first and last row, whether it
-- ended or failed, its start row's message (which names the days it built), and its restate rows
-- ('restated DAY: why': earlier days it built again because late events changed them).
SELECT
  uid AS run_id,
  MIN({{ts}}) AS started_at,
  MAX({{ts}}) AS finished_at,
  COUNTIF(log_type = 'error') AS errors,
  COUNTIF(log_type = 'end') AS ends,
  MAX(CASE WHEN step_name = 'start' THEN message END) AS start_message,
  STRING_AGG(CASE WHEN step_name = 'restate' THEN message END, '\n') AS restate_messages
FROM {{daily_logs}}
WHERE {{dt}} BETWEEN @start_date AND @end_date AND job_name = @job_name
GROUP BY uid
ORDER BY started_at, run_id
