-- events_by_name: events per day and event name, each name judged on its own series. A check may
-- read any table: this one reads the raw events, filtered on event time (@start_ts..@end_ts bound
-- the checked window's days), so BigQuery reads only those partitions' two narrow columns. For a
-- very large source, build a daily table of it instead and point the short form at that.
SELECT
  DATE(DATETIME(time, @time_zone)) AS day,
  COALESCE(event_name, '(none)') AS segment,
  COUNT(*) AS value
FROM {{gamepltx.fact}}
WHERE time >= @start_ts
  AND time < @end_ts
GROUP BY DATE(DATETIME(time, @time_zone)), COALESCE(event_name, '(none)')
