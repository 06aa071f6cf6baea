-- daily_sessions: per day, sessions, sessions per DAU and the median session length in seconds.
-- A session is a user's run of events with no gap over 30 minutes; it belongs to the day it
-- starts. The events are read from 30 minutes before the window (to see whether its first events
-- continue a session of the day before) to 30 minutes after it, so a session crossing the window's
-- end is measured up to its last event within those 30 minutes. The gap is the 30 MINUTE of the
-- lines marked (gap) and the 1800 seconds of the bucket.
-- Why this shape: sorting every event per user is what a session costs (a window over all
-- events). Events are first grouped per user and 30-minute bucket (a hash GROUP BY, like the
-- panel's): no gap inside a bucket can exceed 30 minutes, so sessions break only between buckets,
-- and the window functions sort the few buckets per user instead of the events. Exact, not an
-- approximation. The median is computed from row numbers, which both engines have.
-- Rows per day: the all-users row (platform and country '(all)'), one per platform and one per
-- country, from each user's segment (user_segments.sql, '(unknown)' when NULL).
WITH buckets AS (
  SELECT
    user_id,
    CAST(FLOOR(UNIX_SECONDS(time) / 1800) AS INT64) AS bucket, -- (gap) in seconds
    MIN(time) AS first_time,
    MAX(time) AS last_time
  FROM {{source}}
  WHERE time >= TIMESTAMP_SUB(@start_ts, INTERVAL 30 MINUTE) -- (gap)
    AND time < TIMESTAMP_ADD(@end_ts, INTERVAL 30 MINUTE) -- (gap)
    AND user_id IS NOT NULL
  GROUP BY user_id, CAST(FLOOR(UNIX_SECONDS(time) / 1800) AS INT64)
),
edges AS (
  -- A bucket starts a session when the user's previous bucket ended over 30 minutes before its
  -- first event, and ends one when the next bucket starts over 30 minutes after its last event.
  SELECT
    user_id,
    first_time,
    last_time,
    COALESCE(LAG(last_time) OVER (PARTITION BY user_id ORDER BY bucket) < TIMESTAMP_SUB(first_time, INTERVAL 30 MINUTE), TRUE) AS is_start, -- (gap)
    COALESCE(LEAD(first_time) OVER (PARTITION BY user_id ORDER BY bucket) > TIMESTAMP_ADD(last_time, INTERVAL 30 MINUTE), TRUE) AS is_end -- (gap)
  FROM buckets
),
sessions AS (
  -- Of the boundary buckets only, a start's session ends at its own bucket or the next boundary.
  SELECT
    user_id,
    first_time AS started,
    UNIX_SECONDS(CASE WHEN is_end THEN last_time ELSE LEAD(last_time) OVER (PARTITION BY user_id ORDER BY first_time) END) - UNIX_SECONDS(first_time) AS seconds,
    is_start
  FROM edges
  WHERE is_start OR is_end
),
levels AS (
  -- Each session and each user counts in three rows of the day: all users, its platform, its country.
  SELECT 0 AS level UNION ALL SELECT 1 UNION ALL SELECT 2
),
in_window AS (
  SELECT
    DATE(DATETIME(x.started, @time_zone)) AS date,
    CASE WHEN l.level = 1 THEN COALESCE(s.platform, '(unknown)') ELSE '(all)' END AS platform,
    CASE WHEN l.level = 2 THEN COALESCE(s.country, '(unknown)') ELSE '(all)' END AS country,
    x.seconds
  FROM sessions AS x
  LEFT JOIN {{user_segments}} AS s ON s.user_id = x.user_id
  CROSS JOIN levels AS l
  WHERE x.is_start
    AND x.started >= @start_ts
    AND x.started < @end_ts
),
ranked AS (
  SELECT
    date,
    platform,
    country,
    seconds,
    ROW_NUMBER() OVER (PARTITION BY date, platform, country ORDER BY seconds) AS position,
    COUNT(*) OVER (PARTITION BY date, platform, country) AS day_sessions
  FROM in_window
),
by_day AS (
  SELECT
    date,
    platform,
    country,
    COUNT(*) AS sessions,
    AVG(CASE WHEN position BETWEEN FLOOR((day_sessions + 1) / 2) AND FLOOR(day_sessions / 2) + 1 THEN seconds END) AS median_session_seconds
  FROM ranked
  GROUP BY date, platform, country
),
dau AS (
  SELECT
    p.date,
    CASE WHEN l.level = 1 THEN COALESCE(s.platform, '(unknown)') ELSE '(all)' END AS platform,
    CASE WHEN l.level = 2 THEN COALESCE(s.country, '(unknown)') ELSE '(all)' END AS country,
    COUNT(*) AS dau
  FROM {{daily_user_panel}} AS p
  LEFT JOIN {{user_segments}} AS s ON s.user_id = p.user_id
  CROSS JOIN levels AS l
  WHERE p.date BETWEEN @start_date AND @end_date
  GROUP BY 1, 2, 3
)
SELECT
  d.date,
  d.platform,
  d.country,
  d.dau,
  COALESCE(s.sessions, 0) AS sessions,
  SAFE_DIVIDE(COALESCE(s.sessions, 0), d.dau) AS sessions_per_dau,
  s.median_session_seconds
FROM dau AS d
LEFT JOIN by_day AS s ON s.date = d.date AND s.platform = d.platform AND s.country = d.country
