-- last_activity: one row per user with the last day the user was seen. Merged from the run's days
-- only (the seed rebuilt it from all history every day); an existing row only moves to a later
-- day, so reruns and backfills in any order converge on the latest day ever processed.
MERGE INTO {{target}} AS t
USING {{staged_users}} AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.last_date > t.last_activity THEN
  UPDATE SET last_activity = s.last_date
WHEN NOT MATCHED THEN
  INSERT (user_id, last_activity) VALUES (s.user_id, s.last_date)
