-- sessions_per_dau (check): sessions started that day / DAU, judged as a ratio (numerator and
-- denominator in the alert, no verdict below min_denominator users).
-- The all-users rows only (the table also has a row per platform and per country).
SELECT date AS day, sessions AS numerator, dau AS denominator
FROM {{daily_kpis.daily_sessions}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country = '(all)'
