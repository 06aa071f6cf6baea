-- stickiness (check): DAU / MAU, judged as a ratio (numerator and denominator in the alert, no
-- verdict below min_denominator monthly users).
-- The all-users rows only (the table also has a row per platform and per country).
SELECT date AS day, dau AS numerator, mau AS denominator
FROM {{daily_kpis.daily_engagement}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country = '(all)'
