-- One KPI's daily series on a date spine: every day from @start_date to @end_date, a day without
-- rows a 0 and not a missing row. The subquery is the KPI's own (sql/monitors/<metric>.sql): one
-- row per day with data, with the columns day and value.
SELECT spine.day, COALESCE(daily.value, 0) AS value
FROM {{date_spine}} AS spine
LEFT JOIN (
{{daily}}
) AS daily ON daily.day = spine.day
ORDER BY spine.day
