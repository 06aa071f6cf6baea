-- The raised days recorded in a range of days (channel 'incident', one row per check, segment and
-- day, whatever was published that day): a run judging day D reads D - 1 here to know whether D
-- continues an incident, and where that incident started.
SELECT payload
FROM {{alerts}}
WHERE channel = 'incident' AND date BETWEEN @start_date AND @end_date
ORDER BY date, alert_id
