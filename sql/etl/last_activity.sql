-- last_activity: each user active in the run's days with the last of those days. Written with
-- keep_latest (the seed rebuilt it from all history every day), an existing row only moves to a
-- later day, so reruns and backfills in any order converge on the latest day ever processed.
SELECT user_id, MAX(date) AS last_activity
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY user_id
