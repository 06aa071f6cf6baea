-- daily_sessions: per day, sessions, sessions per DAU and the median session length in seconds.
-- A session is a user's run of events with no gap over 30 minutes; it belongs to the day it
-- starts. The events are read from 30 minutes before the window (to see whether its first events
-- continue a session of the day before) to 30 minutes after it, so a session crossing the window's
-- end is measured up to its last event within those 30 minutes. The gap is the 30 MINUTE of the
-- three lines marked (gap). The median is computed from row numbers, which both engines have.
WITH events AS (
  SELECT user_id, time
  FROM {{source}}
  WHERE time >= TIMESTAMP_SUB(@start_ts, INTERVAL 30 MINUTE) -- (gap)
    AND time < TIMESTAMP_ADD(@end_ts, INTERVAL 30 MINUTE) -- (gap)
    AND user_id IS NOT NULL
),
marked AS (
  SELECT
    user_id,
    time,
    CASE
      WHEN LAG(time) OVER (PARTITION BY user_id ORDER BY time) >= TIMESTAMP_SUB(time, INTERVAL 30 MINUTE) THEN 0 -- (gap)
      ELSE 1
    END AS is_start
  FROM events
),
numbered AS (
  SELECT
    user_id,
    time,
    SUM(is_start) OVER (PARTITION BY user_id ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_number
  FROM marked
),
sessions AS (
  SELECT
    user_id,
    session_number,
    MIN(time) AS started,
    UNIX_SECONDS(MAX(time)) - UNIX_SECONDS(MIN(time)) AS seconds
  FROM numbered
  GROUP BY user_id, session_number
),
in_window AS (
  SELECT DATE(DATETIME(started, @time_zone)) AS date, seconds
  FROM sessions
  WHERE started >= @start_ts
    AND started < @end_ts
),
ranked AS (
  SELECT
    date,
    seconds,
    ROW_NUMBER() OVER (PARTITION BY date ORDER BY seconds) AS position,
    COUNT(*) OVER (PARTITION BY date) AS day_sessions
  FROM in_window
),
by_day AS (
  SELECT
    date,
    COUNT(*) AS sessions,
    AVG(CASE WHEN position BETWEEN FLOOR((day_sessions + 1) / 2) AND FLOOR(day_sessions / 2) + 1 THEN seconds END) AS median_session_seconds
  FROM ranked
  GROUP BY date
),
dau AS (
  SELECT date, COUNT(*) AS dau
  FROM {{daily_user_panel}}
  WHERE date BETWEEN @start_date AND @end_date
  GROUP BY date
)
SELECT
  d.date,
  d.dau,
  COALESCE(s.sessions, 0) AS sessions,
  SAFE_DIVIDE(COALESCE(s.sessions, 0), d.dau) AS sessions_per_dau,
  s.median_session_seconds
FROM dau AS d
LEFT JOIN by_day AS s ON s.date = d.date
