-- Embedded warehouse only (rowid is DuckDB's): a fingerprint per KPI day of the source's events,
-- their count and newest row id. A load adds rows with higher row ids and a rewrite of the day
-- changes one or the other, so an equal fingerprint means the day's events did not change. It
-- reads only the range (the event-time filter skips the rest) and only the time column.
SELECT
  DATE(DATETIME(time, @time_zone)) AS day,
  COUNT(*) AS events,
  MAX(rowid) AS newest_row
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
GROUP BY DATE(DATETIME(time, @time_zone))
