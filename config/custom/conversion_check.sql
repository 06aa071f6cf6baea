-- conversion (check): first-time payers / DAU, judged as a ratio (numerator and denominator in the
-- alert, no verdict below min_denominator users).
-- The all-users rows only (the table also has a row per platform and per country).
SELECT date AS day, first_time_payers AS numerator, dau AS denominator
FROM {{daily_kpis.daily_revenue}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country = '(all)'
