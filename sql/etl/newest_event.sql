-- The source's newest event since @since: the freshness guard's one read (source_freshness_hours).
-- It filters on the event-time column, so BigQuery reads only the time column of the partitions
-- since then, and DuckDB only the row groups of that time.
SELECT MAX(time) AS newest
FROM {{source}}
WHERE time >= @since
