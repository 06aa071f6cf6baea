-- Which of two runs have written their last run-log row (`end`, or `error` for a run that
-- failed): `npm start` on the Pub/Sub emulator waits on it for both monitors, whose run ids it
-- knows from the completion event's message id. Reads only uid and log_type, so both run-log
-- shapes (this project's and the cron predecessor's) answer.
SELECT DISTINCT uid
FROM {{daily_logs}}
WHERE uid IN (@first_uid, @second_uid) AND log_type IN ('end', 'error')
