-- How many events the source table (or a GA4 export shard) holds: `kpis start` seeds the demo only
-- into an empty one, and `kpis load-events` says how many rows an empty export file would replace.
SELECT COUNT(*) AS events FROM {{source}}
