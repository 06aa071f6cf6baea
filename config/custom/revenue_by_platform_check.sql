-- revenue_by_platform (check): revenue per day and platform (segments: ANDROID, IOS, ...,
-- '(unknown)' for users whose events carry none), each judged on its own series: a store that
-- breaks on one platform raises although the total may look normal.
SELECT date AS day, platform AS segment, revenue AS value
FROM {{daily_kpis.daily_revenue}}
WHERE date BETWEEN @start_date AND @end_date
  AND platform <> '(all)'
  AND country = '(all)'
