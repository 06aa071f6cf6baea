-- Converts the run log to daily-kpis' shape. {{migrated}} was created first as `kpis init` creates
-- the run log (partitioned by dt, clustered by job_name); the rows are copied into it, each column
-- cast to daily-kpis' type (the cron job's pandas wrote ts as DATETIME, naive UTC, and dt as a
-- 'YYYY-MM-DD' STRING); then the old table is kept under a backup name and the new one takes its place.
DELETE FROM {{migrated}} WHERE TRUE;
INSERT INTO {{migrated}} ({{columns}})
SELECT
  {{expressions}}
FROM {{daily_logs}};
ALTER TABLE {{daily_logs}} RENAME TO {{backup_name}};
ALTER TABLE {{migrated}} RENAME TO {{table_name}};
