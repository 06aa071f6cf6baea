-- stickiness_by_country (check): DAU / MAU per country (segments; '(unknown)' for users whose
-- events carry none), judged as a ratio: a country whose players stop coming back stands out.
SELECT date AS day, country AS segment, dau AS numerator, mau AS denominator
FROM {{daily_kpis.daily_engagement}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform = '(all)'
  AND country <> '(all)'
