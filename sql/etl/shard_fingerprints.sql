-- Embedded warehouse only: a fingerprint per shard of a wildcard source (the GA4 export's events_YYYYMMDD and events_intraday_YYYYMMDD tables), its row count and the sum of its event times: DuckDB keeps no change times, and a shard loaded again with other events changes one or the other. It reads only the shards of the window ({{shards}} unions them).
SELECT _TABLE_SUFFIX AS shard, COUNT(*) AS events, SUM(event_timestamp) AS stamp
FROM {{shards}}
GROUP BY _TABLE_SUFFIX
