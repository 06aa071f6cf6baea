-- installs: each user active in the run's days with the first of those days. Written with
-- keep_earliest, an existing row only moves to an earlier day, so reruns and backfills in any
-- order converge on the earliest day ever processed. Reads the daily user panel this run wrote.
SELECT user_id, MIN(date) AS install_date
FROM {{daily_user_panel}}
WHERE date BETWEEN @start_date AND @end_date
GROUP BY user_id
