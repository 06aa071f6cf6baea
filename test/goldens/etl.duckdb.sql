-- parameters:
--   @start_date DATE = 2026-11-20
--   @end_date DATE = 2026-11-21
--   @start_ts TIMESTAMP = 2026-11-20T00:00:00.000Z
--   @end_ts TIMESTAMP = 2026-11-22T00:00:00.000Z

BEGIN TRANSACTION;

-- The run's events, aggregated once for all KPI tables. This is the ETL's only read of the raw
-- events, and it filters on the event-time column, so BigQuery prunes to the window's partitions
-- and a daily run costs one day of data however long the history is.

-- One row per user and day.
CREATE TEMP TABLE staged_gamepltx_fact AS
SELECT
  user_id,
  DATE(time) AS date,
  COUNT(*) AS total_events,
  CAST(COALESCE(SUM(coins_added), 0) AS INT64) AS total_coins_added
FROM gamepltx.fact
WHERE time >= $start_ts
  AND time < $end_ts
  AND user_id IS NOT NULL
GROUP BY ALL;

-- One row per user: the first and last day seen in the run's window.
CREATE TEMP TABLE staged_gamepltx_fact_users AS
SELECT user_id, MIN(date) AS first_date, MAX(date) AS last_date
FROM staged_gamepltx_fact
GROUP BY user_id;

-- installs: one row per user with the first day the user was seen. An existing row only moves to
-- an earlier day, so a rerun changes nothing and backfills in any order converge on the earliest
-- day ever processed.
MERGE INTO daily_kpis.installs AS t
USING staged_gamepltx_fact_users AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.first_date < t.install_date THEN
  UPDATE SET install_date = s.first_date
WHEN NOT MATCHED THEN
  INSERT (user_id, install_date) VALUES (s.user_id, s.first_date);

-- last_activity: one row per user with the last day the user was seen. Merged from the run's days
-- only (the seed rebuilt it from all history every day); an existing row only moves to a later
-- day, so reruns and backfills in any order converge on the latest day ever processed.
MERGE INTO daily_kpis.last_activity AS t
USING staged_gamepltx_fact_users AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.last_date > t.last_activity THEN
  UPDATE SET last_activity = s.last_date
WHEN NOT MATCHED THEN
  INSERT (user_id, last_activity) VALUES (s.user_id, s.last_date);

-- daily_user_panel: one row per user and active day. The run's days are replaced as a whole, so
-- a rerun gives the same rows and a day whose events were corrected is rebuilt from them.
DELETE FROM daily_kpis.daily_user_panel
WHERE date BETWEEN $start_date AND $end_date;

INSERT INTO daily_kpis.daily_user_panel (user_id, date, total_events, total_coins_added)
SELECT user_id, date, total_events, total_coins_added
FROM staged_gamepltx_fact;

COMMIT;
