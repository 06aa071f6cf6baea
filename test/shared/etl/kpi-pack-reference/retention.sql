-- retention: per day built (date), install cohort and N, the cohort's size, the users active
-- exactly on day cohort + N ("strict", final from that day on: checks judge it on the row where
-- date = maturity_date) and on any day from cohort + N up to the day built ("rolling", still
-- filling until the horizon, cohort + 30, where is_final turns true). Written again each day
-- until the horizon so the rolling count grows without a read of more than 30 days of the panel
-- and the installs of the last 30 days (both partitioned by date on BigQuery). The N list is
-- the UNION below; its largest N is the horizon and must equal the 30 of the two bounds below.
-- Cohorts come from installs, so a backfill in reverse order of single days gives other cohorts
-- until every earlier day has been built: backfill in one run, or in order.
WITH retention_n AS (
  SELECT 1 AS n UNION ALL SELECT 7 UNION ALL SELECT 30
),
cohorts AS (
  SELECT user_id, install_date AS cohort_date
  FROM {{installs}}
  WHERE install_date BETWEEN DATE_ADD(@start_date, INTERVAL (-30) DAY) AND @end_date
),
active AS (
  SELECT user_id, date
  FROM {{daily_user_panel}}
  WHERE date BETWEEN DATE_ADD(@start_date, INTERVAL (-29) DAY) AND @end_date
),
run_days AS (
  SELECT DISTINCT date
  FROM active
  WHERE date BETWEEN @start_date AND @end_date
),
cells AS (
  -- Every cohort user for each built day and each N whose day cohort + N is built by then.
  SELECT
    d.date,
    c.cohort_date,
    r.n,
    CAST(DATE_ADD(c.cohort_date, INTERVAL (r.n) DAY) AS DATE) AS maturity_date,
    c.user_id
  FROM run_days AS d
  JOIN cohorts AS c
    ON c.cohort_date BETWEEN DATE_ADD(d.date, INTERVAL (-30) DAY) AND d.date
  JOIN retention_n AS r
    ON DATE_ADD(c.cohort_date, INTERVAL (r.n) DAY) <= d.date
),
per_user AS (
  SELECT
    x.date,
    x.cohort_date,
    x.n,
    x.maturity_date,
    x.user_id,
    -- 1 or 0 per user (DuckDB's COUNTIF over only NULLs is NULL, BigQuery's is 0: MAX of a CASE is
    -- the same on both).
    MAX(CASE WHEN a.date = x.maturity_date THEN 1 ELSE 0 END) AS strict,
    MAX(CASE WHEN a.date IS NOT NULL THEN 1 ELSE 0 END) AS rolling
  FROM cells AS x
  LEFT JOIN active AS a
    ON a.user_id = x.user_id
    AND a.date BETWEEN x.maturity_date AND x.date
  GROUP BY x.date, x.cohort_date, x.n, x.maturity_date, x.user_id
)
SELECT
  date,
  cohort_date,
  n,
  maturity_date,
  COUNT(*) AS cohort_size,
  SUM(strict) AS retained,
  SUM(rolling) AS retained_rolling,
  date = DATE_ADD(cohort_date, INTERVAL 30 DAY) AS is_final
FROM per_user
GROUP BY date, cohort_date, n, maturity_date
