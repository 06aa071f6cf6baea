-- arpdau (check): revenue per daily active user, judged as the ratio revenue / DAU, so the alert
-- shows both and a day with few users (min_denominator) gives no verdict.
-- The all-users rows only (the table also has a row per platform and per country).
SELECT date AS day, revenue AS numerator, dau AS denominator
FROM {{daily_kpis.daily_revenue}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country = '(all)'
