-- BigQuery's read-ahead check (reads_days_after): per KPI day, the count and newest time of the
-- source's events timed before @before (a build's time). Partition metadata cannot tell an event
-- of 00:10 that landed late from the day's ordinary later events; this can, and it is read only
-- for a day a table reads ahead: when the run records it, and when its partition changed since.
-- It reads the time column of the range's partitions only: BigQuery bills at least 10 MB per
-- query on demand, and a day of time values (8 bytes an event) is over that only past about
-- 1.3 million events.
SELECT
  DATE(DATETIME(time, @time_zone)) AS day,
  COUNT(*) AS events,
  MAX(time) AS newest
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND time < @before
GROUP BY DATE(DATETIME(time, @time_zone))
