-- A check's short form: {{value}} per {{date_column}} of one table, each day of the window.
SELECT {{date_column}} AS day, {{value}} AS value
FROM {{table_placeholder}}
WHERE {{date_column}} BETWEEN @start_date AND @end_date
GROUP BY {{date_column}}
