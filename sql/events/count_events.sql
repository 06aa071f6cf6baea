-- How many events the source table holds: `kpis start` seeds the demo only into an empty one.
SELECT COUNT(*) AS events FROM {{source}}
