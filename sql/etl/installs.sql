-- installs: one row per user with the first day the user was seen. An existing row only moves to
-- an earlier day, so a rerun changes nothing and backfills in any order converge on the earliest
-- day ever processed.
MERGE INTO {{target}} AS t
USING {{staged_users}} AS s
ON t.user_id = s.user_id
WHEN MATCHED AND s.first_date < t.install_date THEN
  UPDATE SET install_date = s.first_date
WHEN NOT MATCHED THEN
  INSERT (user_id, install_date) VALUES (s.user_id, s.first_date)
