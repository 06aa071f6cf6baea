-- user_segments: each user's platform and country, those of the first day the user was seen
-- (the install day), written with keep_earliest like installs, so a rerun or a backfill in any
-- order converges on the earliest day ever processed. The pack's tables read it to split their
-- figures per platform and per country: every user is in exactly one platform and one country,
-- so the segments of a day add up to its all-users row (NULL, from a source without the
-- columns or an event without them, becomes the segment '(unknown)', never a lost user). Of a
-- day's events, the largest non-NULL value is taken (a user on two devices in one day is rare).
SELECT
  user_id,
  DATE(DATETIME(time, @time_zone)) AS first_seen_date,
  MAX(platform) AS platform,
  MAX(country) AS country
FROM {{source}}
WHERE time >= @start_ts
  AND time < @end_ts
  AND user_id IS NOT NULL
GROUP BY user_id, DATE(DATETIME(time, @time_zone))
