-- The alerts the calendar muted about a range of days (channel muted: raised on a one_off day,
-- recorded with the entry's note, never sent), oldest first, for the report's alert table.
SELECT payload
FROM {{alerts}}
WHERE channel = 'muted' AND date BETWEEN @start_date AND @end_date
ORDER BY date, alert_id
