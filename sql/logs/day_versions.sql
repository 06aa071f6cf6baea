-- The source version each day was built from: an ETL run's end row, which commits with its
-- tables, ends its message with `; source versions {day: version}` for the days it built. The
-- caller keeps each day's newest. A day with none was built with restate_days off, or never.
SELECT {{ts}} AS ts, message
FROM {{daily_logs}}
WHERE {{dt}} >= @since AND job_name = @job_name AND job_type = 'etl' AND log_type = 'end' AND message LIKE '%; source versions {%'
