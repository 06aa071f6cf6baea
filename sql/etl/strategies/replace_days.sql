-- {{name}}, replace_days: the run's days are deleted and the query's rows for those days
-- inserted, so a rerun gives the same rows and a day whose events were corrected is rebuilt from
-- them. Rows the query returns outside the run's days are left out: they belong to another run.
DELETE FROM {{target}}
WHERE {{partition_column}} BETWEEN @start_date AND @end_date;

INSERT INTO {{target}} ({{columns}})
SELECT {{columns}}
FROM (
{{query}}
) AS q
WHERE q.{{partition_column}} BETWEEN @start_date AND @end_date
