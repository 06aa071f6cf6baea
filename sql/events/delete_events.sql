-- Empties the source table, for `kpis seed-demo --replace` (BigQuery requires a WHERE clause).
DELETE FROM {{source}} WHERE TRUE
