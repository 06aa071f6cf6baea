-- daily_user_panel: one row per user and active day. The run's days are replaced as a whole, so
-- a rerun gives the same rows and a day whose events were corrected is rebuilt from them.
DELETE FROM {{target}}
WHERE date BETWEEN @start_date AND @end_date;

INSERT INTO {{target}} (user_id, date, total_events, total_coins_added)
SELECT user_id, date, total_events, total_coins_added
FROM {{staged}}
