-- Embedded warehouse only (rowid is DuckDB's): a fingerprint per KPI day of the source's events,
-- their count and newest row id. A load adds rows with higher row ids and a rewrite of the day
-- changes one or the other, so an equal fingerprint means the day's events did not change. It
-- reads only the range (the event-time filter skips the rest) and only the time column.
-- @before bounds the events counted: the range's end for whole days; a build's time for a day a
-- table reads ahead (reads_days_after), so that day's ordinary later events leave it unchanged.
SELECT
  DATE(DATETIME(time, @time_zone)) AS day,
  COUNT(*) AS events,
  MAX(rowid) AS newest_row
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND time < @before
GROUP BY DATE(DATETIME(time, @time_zone))
