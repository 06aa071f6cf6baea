-- parameters:
--   @start_date DATE = 2026-11-20
--   @end_date DATE = 2026-11-21
--   @start_ts TIMESTAMP = 2026-11-20T00:00:00.000Z
--   @end_ts TIMESTAMP = 2026-11-22T00:00:00.000Z
--   @time_zone STRING = UTC

BEGIN TRANSACTION;

-- daily_user_panel, replace_days: the run's days are deleted and the query's rows for those days
-- inserted, so a rerun gives the same rows and a day whose events were corrected is rebuilt from
-- them. Rows the query returns outside the run's days are left out: they belong to another run.
DELETE FROM `demo-project.daily_kpis.daily_user_panel`
WHERE date BETWEEN @start_date AND @end_date;

INSERT INTO `demo-project.daily_kpis.daily_user_panel` (user_id, date, total_events, total_coins_added)
SELECT user_id, date, total_events, total_coins_added
FROM (
-- daily_user_panel: one row per user and active day, with event and coin totals. This is the ETL's
-- one read of the raw events for the built-in tables (installs and last_activity read this table
-- after it is written, in the same transaction), and it filters on the event-time column, so
-- BigQuery prunes to the window's partitions and a daily run costs one day of data.
SELECT
  user_id,
  DATE(DATETIME(time, @time_zone)) AS date,
  COUNT(*) AS total_events,
  CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS total_coins_added
FROM `demo-project.gamepltx.fact`
WHERE time >= @start_ts
  AND time < @end_ts
  AND user_id IS NOT NULL
GROUP BY user_id, DATE(DATETIME(time, @time_zone))
) AS q
WHERE q.date BETWEEN @start_date AND @end_date;

-- installs, keep_earliest: one row per key. Of the query's rows, the earliest per key is
-- merged in; an existing row only moves to an earlier install_date, so reruns and
-- backfills in any order converge on the earliest day ever processed. Rows with a NULL key are
-- left out: they could never match, and every rerun would insert them again.
MERGE INTO `demo-project.daily_kpis.installs` AS t
USING (
  SELECT user_id, install_date
  FROM (
-- installs: each user's days active in the run. Written with keep_earliest, which keeps the
-- earliest of them per user (so no GROUP BY here: the strategy's dedup is the one aggregation),
-- and an existing row only moves to an earlier day, so reruns and backfills in any order converge
-- on the earliest day ever processed. Reads the daily user panel this run wrote.
SELECT user_id, date AS install_date
FROM `demo-project.daily_kpis.daily_user_panel`
WHERE date BETWEEN @start_date AND @end_date
  ) AS q
  WHERE q.user_id IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY install_date ASC) = 1
) AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.install_date < t.install_date THEN
  UPDATE SET install_date = s.install_date
WHEN NOT MATCHED THEN
  INSERT (user_id, install_date) VALUES (s.user_id, s.install_date);

-- last_activity, keep_latest: one row per key. Of the query's rows, the latest per key is
-- merged in; an existing row only moves to a later last_activity, so reruns and
-- backfills in any order converge on the latest day ever processed. Rows with a NULL key are
-- left out: they could never match, and every rerun would insert them again.
MERGE INTO `demo-project.daily_kpis.last_activity` AS t
USING (
  SELECT user_id, last_activity
  FROM (
-- last_activity: each user's days active in the run. Written with keep_latest, which keeps the
-- latest of them per user (so no GROUP BY here: the strategy's dedup is the one aggregation), and
-- an existing row only moves to a later day, so reruns and backfills in any order converge on the
-- latest day ever processed (the seed rebuilt it from all history every day). Reads the daily
-- user panel this run wrote.
SELECT user_id, date AS last_activity
FROM `demo-project.daily_kpis.daily_user_panel`
WHERE date BETWEEN @start_date AND @end_date
  ) AS q
  WHERE q.user_id IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY last_activity DESC) = 1
) AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.last_activity > t.last_activity THEN
  UPDATE SET last_activity = s.last_activity
WHEN NOT MATCHED THEN
  INSERT (user_id, last_activity) VALUES (s.user_id, s.last_activity);

COMMIT TRANSACTION;
