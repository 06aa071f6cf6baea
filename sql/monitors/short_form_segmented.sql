-- A check's short form with segments: {{value}} per {{date_column}} and {{segment}} of one table,
-- each day of the window; each segment is judged on its own series.
SELECT {{date_column}} AS day, CAST({{segment}} AS STRING) AS segment, {{value}} AS value
FROM {{table_placeholder}}
WHERE {{date_column}} BETWEEN @start_date AND @end_date
GROUP BY {{date_column}}, CAST({{segment}} AS STRING)
