-- Rows of the run log; the rows of one run share uid. The rows placeholder holds one tuple of
-- numbered parameters per row, so several steps cost one statement (one job on BigQuery).
INSERT INTO {{daily_logs}} ({{columns}})
VALUES
{{rows}}
