-- revenue (check): revenue per day, all users (the all-users rows of daily_revenue; the table
-- also has a row per platform and per country, which revenue_by_platform and revenue_by_country
-- judge).
SELECT date AS day, revenue AS value
FROM {{daily_kpis.daily_revenue}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country = '(all)'
