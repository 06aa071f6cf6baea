-- last_activity, watched as returning users: users active that day whose last activity before it
-- was on an earlier day, i.e. active users who did not install that day.
-- Why not count the last_activity table itself: it keeps only each user's newest day, so its count
-- for a past day is "users never seen since", which shrinks as users come back; compared day to
-- day it jumps every day. Returning users is the same signal with a stable history: it falls when
-- retention breaks, even while a wave of installs holds DAU up. It reads the daily user panel and
-- the installs of the check's dataset whatever the check's table_id says (the seed's config named
-- last_activity there).
SELECT panel.date AS day, COUNT(*) - COUNTIF(installs.install_date = panel.date) AS value
FROM {{daily_user_panel}} AS panel
LEFT JOIN {{installs}} AS installs ON installs.user_id = panel.user_id
WHERE panel.date BETWEEN @start_date AND @end_date
GROUP BY panel.date
