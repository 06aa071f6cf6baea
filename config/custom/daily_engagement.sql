-- daily_engagement: per day, DAU, WAU and MAU (distinct users active on the 1, 7 and 30 days
-- ending that day) and stickiness DAU / MAU. Read from the daily user panel (one narrow row per
-- user and active day) over the window and the 29 days before it, not from the raw events, so a
-- daily run reads 30 days of the panel. A day's row depends only on the panel's 30 days ending
-- it: rebuilding days in any order gives the same rows once those panel days are built (a day
-- built before them counts fewer users: rebuild it once they are, README "Order of builds").
-- Why this shape: each user's last active day up to each built day is one GROUP BY (its value
-- says whether the user counts in DAU, WAU, MAU); three COUNT(DISTINCT) over the same rows cost
-- three times as much. The built days meet their 30 active days through the few distinct panel
-- days (a small range join), and the panel through an equality on the date. Date bounds are
-- cast back to DATE (DuckDB's DATE_ADD gives a TIMESTAMP), so joins compare dates.
-- Rows per day: the all-users row (platform and country '(all)'), one per platform and one per
-- country, from each user's segment (user_segments.sql, '(unknown)' when NULL).
WITH active AS (
  SELECT user_id, date
  FROM {{daily_user_panel}}
  WHERE date BETWEEN DATE_ADD(@start_date, INTERVAL (-29) DAY) AND @end_date
),
active_days AS (
  SELECT DISTINCT date
  FROM active
),
windows AS (
  -- Each built day with the active days of the 30 ending it.
  SELECT d.date, a.date AS active_date
  FROM active_days AS d
  JOIN active_days AS a
    ON a.date BETWEEN CAST(DATE_ADD(d.date, INTERVAL (-29) DAY) AS DATE) AND d.date
  WHERE d.date BETWEEN @start_date AND @end_date
),
last_seen AS (
  SELECT w.date, a.user_id, MAX(a.date) AS last_date
  FROM windows AS w
  JOIN active AS a
    ON a.date = w.active_date
  GROUP BY w.date, a.user_id
),
levels AS (
  -- Each user counts in three rows of the day: all users, its platform, its country.
  SELECT 0 AS level UNION ALL SELECT 1 UNION ALL SELECT 2
),
counts AS (
  SELECT
    x.date,
    CASE WHEN l.level = 1 THEN COALESCE(s.platform, '(unknown)') ELSE '(all)' END AS platform,
    CASE WHEN l.level = 2 THEN COALESCE(s.country, '(unknown)') ELSE '(all)' END AS country,
    SUM(CASE WHEN x.last_date = x.date THEN 1 ELSE 0 END) AS dau,
    SUM(CASE WHEN x.last_date > CAST(DATE_ADD(x.date, INTERVAL (-7) DAY) AS DATE) THEN 1 ELSE 0 END) AS wau,
    COUNT(*) AS mau
  FROM last_seen AS x
  LEFT JOIN {{user_segments}} AS s ON s.user_id = x.user_id
  CROSS JOIN levels AS l
  GROUP BY 1, 2, 3
)
SELECT date, platform, country, dau, wau, mau, SAFE_DIVIDE(dau, mau) AS stickiness
FROM counts
