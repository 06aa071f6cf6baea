-- The headline KPIs of one day, for `npm start` and `kpis report`.
SELECT
  (SELECT COUNT(*) FROM {{daily_user_panel}} WHERE date = @date) AS dau,
  (SELECT COUNT(*) FROM {{installs}} WHERE install_date = @date) AS installs,
  (SELECT COALESCE(SUM(total_events), 0) FROM {{daily_user_panel}} WHERE date = @date) AS events,
  (SELECT COALESCE(SUM(total_coins_added), 0) FROM {{daily_user_panel}} WHERE date = @date) AS coins_added,
  (SELECT COUNT(*) FROM {{last_activity}} WHERE last_activity = @date) AS last_seen_users
