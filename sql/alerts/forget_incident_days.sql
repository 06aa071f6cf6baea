-- Forgets the records of days a run judged again that no longer raise (late data changed them), so
-- the day after does not continue an incident that did not happen. The ids arrive as numbered
-- parameters, one per day.
DELETE FROM {{alerts}}
WHERE channel = 'incident' AND date BETWEEN @start_date AND @end_date AND alert_id IN ({{alert_ids}})
