-- An alerts table from before delivered_at: every row in it went out (a failed send gave its claim
-- back), so each counts as delivered when it was claimed.
ALTER TABLE {{alerts}} ADD COLUMN IF NOT EXISTS delivered_at TIMESTAMP;

UPDATE {{alerts}}
SET delivered_at = sent_at
WHERE delivered_at IS NULL
