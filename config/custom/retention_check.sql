-- retention (check): each cohort's strict DN retention, judged on the day it becomes final
-- (maturity_date = cohort + N: the row written that day), one series per N (segments D1, D7, D30),
-- so the D1 of the cohort of the 20th is judged on the 21st against the D1 of earlier cohorts. A
-- ratio check: retained users over cohort size, so min_denominator keeps small cohorts quiet and
-- the alert shows both. Reads the retention rows of the checked window only, all users' rows
-- (the table also has a row per platform and per country: retention_by_platform.sql judges those).
SELECT
  date AS day,
  CONCAT('D', CAST(n AS STRING)) AS segment,
  SUM(retained) AS numerator,
  SUM(cohort_size) AS denominator
FROM {{daily_kpis.retention}}
WHERE date BETWEEN @start_date AND @end_date
  AND date = maturity_date
  AND platform = '(all)'
  AND country = '(all)'
GROUP BY date, n
