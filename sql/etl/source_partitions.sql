-- BigQuery only: the source's partitions that hold the range's events, with when each last
-- changed. Partition metadata reads no event bytes. partition_id is the UTC day (YYYYMMDD) or hour
-- (YYYYMMDDHH) of a time-partitioned table, NULL for an unpartitioned one; __NULL__ and the
-- streaming buffer (__UNPARTITIONED__) sort after the digits, so they fall outside the range: they
-- belong to no day yet, and their rows change a day's partition when they move there.
SELECT partition_id, last_modified_time
FROM {{partitions}}
WHERE table_name = @table_name
  AND (partition_id IS NULL OR partition_id BETWEEN @first_partition AND @last_partition)
