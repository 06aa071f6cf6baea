-- {{name}}, {{strategy}}: one row per key. Of the query's rows, the {{which}} per key is
-- merged in; an existing row only moves to {{direction}} {{date_column}}, so reruns and
-- backfills in any order converge on the {{which}} day ever processed. Rows with a NULL key are
-- left out: they could never match, and every rerun would insert them again.
MERGE INTO {{target}} AS t
USING (
  SELECT {{columns}}
  FROM (
{{query}}
  ) AS q
  WHERE {{key_not_null}}
  QUALIFY ROW_NUMBER() OVER (PARTITION BY {{key}} ORDER BY {{date_column}} {{order}}) = 1
) AS s
ON {{key_match}}
WHEN MATCHED AND s.{{date_column}} {{compare}} t.{{date_column}} THEN
  UPDATE SET {{updates}}
WHEN NOT MATCHED THEN
  INSERT ({{columns}}) VALUES ({{source_columns}})
