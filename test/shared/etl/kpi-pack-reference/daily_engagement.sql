-- daily_engagement: per day, DAU, WAU and MAU (distinct users active on the 1, 7 and 30 days
-- ending that day) and stickiness DAU / MAU. Read from the daily user panel (one narrow row per
-- user and active day) over the window and the 29 days before it, not from the raw events, so a
-- daily run reads 30 days of the panel. A day's row depends only on the panel's 30 days ending
-- it: rebuilding days in any order gives the same rows once those panel days are built.
WITH active AS (
  SELECT user_id, date
  FROM {{daily_user_panel}}
  WHERE date BETWEEN DATE_ADD(@start_date, INTERVAL (-29) DAY) AND @end_date
),
run_days AS (
  SELECT DISTINCT date
  FROM active
  WHERE date BETWEEN @start_date AND @end_date
),
counts AS (
  SELECT
    d.date,
    COUNT(DISTINCT CASE WHEN a.date = d.date THEN a.user_id END) AS dau,
    COUNT(DISTINCT CASE WHEN a.date > DATE_ADD(d.date, INTERVAL (-7) DAY) THEN a.user_id END) AS wau,
    COUNT(DISTINCT a.user_id) AS mau
  FROM run_days AS d
  JOIN active AS a
    ON a.date BETWEEN DATE_ADD(d.date, INTERVAL (-29) DAY) AND d.date
  GROUP BY d.date
)
SELECT date, dau, wau, mau, SAFE_DIVIDE(dau, mau) AS stickiness
FROM counts
