-- One row of the run log; the rows of one run share uid.
INSERT INTO {{daily_logs}} (ts, dt, uid, username, job_name, job_type, file_name, step_name, step_id, log_type, message)
VALUES (@ts, @dt, @uid, @username, @job_name, @job_type, @file_name, @step_name, @step_id, @log_type, @message)
