-- retention: per day built (date), install cohort and N, the cohort's size, the users active
-- exactly on day cohort + N ("strict", final from that day on: checks judge it on the row where
-- date = maturity_date) and on any day from cohort + N up to the day built ("rolling", still
-- filling until the horizon, cohort + 30, where is_final turns true). Written again each day
-- until the horizon so the rolling count grows without a read of more than 30 days of the panel
-- and the installs of the last 30 days (both partitioned by date on BigQuery). The N list is
-- the UNION below; its largest N is the horizon and must equal the 30 of the two bounds below.
-- Cohorts come from installs, so a day built before the days it reads (a first backfill in
-- reverse order of single days) has no cohorts yet: backfill in one run or in order, or rebuild
-- after: kpis etl --from FIRST --to LAST --kpis daily_revenue,daily_engagement,retention.
-- Why this shape: the panel is cut to the cohorts' users first (a hash join), strict retention is
-- an equality join on (user, maturity day), and rolling retention needs only each cohort user's
-- last active day up to the built day (one GROUP BY), not every active day per cell. Date
-- bounds are cast back to DATE (DuckDB's DATE_ADD gives a TIMESTAMP), so joins compare dates.
-- Rows per day, cohort and N: the all-users row (platform and country '(all)'), one per platform
-- and one per country, from each user's segment (user_segments.sql, '(unknown)' when NULL).
WITH retention_n AS (
  SELECT 1 AS n UNION ALL SELECT 7 UNION ALL SELECT 30
),
cohorts AS (
  SELECT
    i.user_id,
    i.install_date AS cohort_date,
    COALESCE(s.platform, '(unknown)') AS platform,
    COALESCE(s.country, '(unknown)') AS country
  FROM {{installs}} AS i
  LEFT JOIN {{user_segments}} AS s ON s.user_id = i.user_id
  WHERE i.install_date BETWEEN DATE_ADD(@start_date, INTERVAL (-30) DAY) AND @end_date
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
cohort_active AS (
  SELECT a.user_id, a.date
  FROM active AS a
  JOIN cohorts AS c
    ON c.user_id = a.user_id
),
last_seen AS (
  -- Each cohort user's last active day up to each built day (within its 30 days).
  SELECT d.date, a.user_id, MAX(a.date) AS last_date
  FROM run_days AS d
  JOIN cohort_active AS a
    ON a.date BETWEEN CAST(DATE_ADD(d.date, INTERVAL (-29) DAY) AS DATE) AND d.date
  GROUP BY d.date, a.user_id
),
cells AS (
  -- Every cohort user for each built day and each N whose day cohort + N is built by then.
  SELECT
    d.date,
    c.cohort_date,
    r.n,
    CAST(DATE_ADD(c.cohort_date, INTERVAL (r.n) DAY) AS DATE) AS maturity_date,
    c.user_id,
    c.platform,
    c.country
  FROM run_days AS d
  JOIN cohorts AS c
    ON c.cohort_date BETWEEN CAST(DATE_ADD(d.date, INTERVAL (-30) DAY) AS DATE) AND d.date
  JOIN retention_n AS r
    ON CAST(DATE_ADD(c.cohort_date, INTERVAL (r.n) DAY) AS DATE) <= d.date
),
per_user AS (
  SELECT
    x.date,
    x.cohort_date,
    x.n,
    x.maturity_date,
    x.platform,
    x.country,
    -- 1 or 0 per user (DuckDB's COUNTIF over only NULLs is NULL, BigQuery's is 0).
    CASE WHEN s.user_id IS NOT NULL THEN 1 ELSE 0 END AS strict,
    CASE WHEN l.last_date >= x.maturity_date THEN 1 ELSE 0 END AS rolling
  FROM cells AS x
  LEFT JOIN cohort_active AS s
    ON s.user_id = x.user_id
    AND s.date = x.maturity_date
  LEFT JOIN last_seen AS l
    ON l.user_id = x.user_id
    AND l.date = x.date
),
levels AS (
  -- Each cohort user counts in three rows: all users, its platform, its country.
  SELECT 0 AS level UNION ALL SELECT 1 UNION ALL SELECT 2
),
counts AS (
  SELECT
    u.date,
    u.cohort_date,
    u.n,
    u.maturity_date,
    CASE WHEN l.level = 1 THEN u.platform ELSE '(all)' END AS platform,
    CASE WHEN l.level = 2 THEN u.country ELSE '(all)' END AS country,
    COUNT(*) AS cohort_size,
    SUM(u.strict) AS retained,
    SUM(u.rolling) AS retained_rolling
  FROM per_user AS u
  CROSS JOIN levels AS l
  GROUP BY 1, 2, 3, 4, 5, 6
)
SELECT
  date,
  cohort_date,
  n,
  maturity_date,
  platform,
  country,
  cohort_size,
  retained,
  retained_rolling,
  date = DATE_ADD(cohort_date, INTERVAL 30 DAY) AS is_final
FROM counts
