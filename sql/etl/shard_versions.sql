-- BigQuery only: when each shard of a wildcard source that may hold the window's events last changed (the GA4 export rewrites a day's table for up to 72 hours). The dataset's __TABLES__ meta-table is metadata: no event bytes are read. last_modified_time is in milliseconds since the epoch.
SELECT table_id, last_modified_time
FROM {{tables}}
WHERE table_id BETWEEN @first_shard AND @last_shard
  OR table_id BETWEEN @first_intraday AND @last_intraday
