-- The KPI monitor's runs in a range of days, for `kpis report`: when each started, and its start
-- row's message, which names the days it judged and its checks ('KPI checks for D1..D2: a, b').
-- Found by that message, so a crontab line's job name finds them too.
SELECT {{ts}} AS started_at, message
FROM {{daily_logs}}
WHERE {{dt}} BETWEEN @start_date AND @end_date
  AND job_type = 'monitor'
  AND step_name = 'start'
  AND message LIKE 'KPI checks for %'
