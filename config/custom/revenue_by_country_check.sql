-- revenue_by_country (check): revenue per day and country (segments; '(unknown)' for users whose
-- events carry none), each judged on its own series.
SELECT date AS day, country AS segment, revenue AS value
FROM {{daily_kpis.daily_revenue}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country <> '(all)'
