-- installs: each user's days active in the run. Written with keep_earliest, which keeps the
-- earliest of them per user (so no GROUP BY here: the strategy's dedup is the one aggregation),
-- and an existing row only moves to an earlier day, so reruns and backfills in any order converge
-- on the earliest day ever processed. Reads the daily user panel this run wrote.
SELECT user_id, date AS install_date
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
