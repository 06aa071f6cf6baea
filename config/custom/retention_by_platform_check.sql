-- retention_by_platform (check): strict DN retention per platform of the cohort's users
-- (segments 'D1 ANDROID', 'D7 IOS', ...), judged like the retention check: on the day a DN becomes
-- final, as retained / cohort size, against the same N and platform of earlier cohorts.
SELECT
  date AS day,
  CONCAT('D', CAST(n AS STRING), ' ', platform) AS segment,
  SUM(retained) AS numerator,
  SUM(cohort_size) AS denominator
FROM {{daily_kpis.retention}}
WHERE date BETWEEN @start_date AND @end_date
  AND date = maturity_date
  AND platform <> '(all)'
  AND country = '(all)'
GROUP BY date, n, platform
