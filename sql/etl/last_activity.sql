-- last_activity: each user's days active in the run. Written with keep_latest, which keeps the
-- latest of them per user (so no GROUP BY here: the strategy's dedup is the one aggregation), and
-- an existing row only moves to a later day, so reruns and backfills in any order converge on the
-- latest day ever processed (the seed rebuilt it from all history every day). Reads the daily
-- user panel this run wrote.
SELECT user_id, date AS last_activity
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
