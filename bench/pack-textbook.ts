/**
 * The textbook queries of the KPI pack: the plain SQL an analyst would write for the same figures
 * of one day, with the same segments (GROUPING SETS over all users, platform, country), each into a
 * temp table, with no run log, no transaction, no DELETE/INSERT or MERGE and no templating. The
 * bench's `pack_overhead_ratio` divides each pack table's statements in the daily run by its
 * textbook query in the same round: what the pipeline adds to the work the KPIs need.
 *
 * The one-day bare GROUP BY (`engine_overhead_ratio`) is the reference for the built-in tables;
 * it cannot be for the pack, whose MAU and retention read 30 days of the panel by definition.
 * The textbook queries read what the definitions need, and from the same state tables the pack
 * keeps (installs, user_segments, first_purchase): a first-time payer needs each user's earlier
 * purchases, which no one reads from a year of raw events every morning.
 *
 * Raw DuckDB SQL (the bench's engine); run parameters as in the ETL: @start_ts, @end_ts, @start_date.
 */
import type { DuckDbWarehouse } from '../shared/warehouse/duckdb';
import type { QueryParams } from '../shared/warehouse/warehouse';

/** By pack table: its textbook query. */
export const TEXTBOOK_QUERIES: ReadonlyMap<string, string> = new Map([
  [
    'user_segments',
    `CREATE OR REPLACE TEMP TABLE textbook_segments AS
     SELECT f.user_id, MAX(f.platform) AS platform, MAX(f.country) AS country
     FROM gamepltx.fact AS f
     WHERE f.time >= @start_ts AND f.time < @end_ts
       AND NOT EXISTS (SELECT 1 FROM daily_kpis.user_segments AS s WHERE s.user_id = f.user_id)
     GROUP BY f.user_id`,
  ],
  [
    'first_purchase',
    `CREATE OR REPLACE TEMP TABLE textbook_first_purchase AS
     SELECT DISTINCT f.user_id
     FROM gamepltx.fact AS f
     WHERE f.time >= @start_ts AND f.time < @end_ts AND f.event_name = 'purchase'
       AND NOT EXISTS (SELECT 1 FROM daily_kpis.first_purchase AS p WHERE p.user_id = f.user_id AND p.first_purchase_date < @start_date)`,
  ],
  [
    'daily_revenue',
    `CREATE OR REPLACE TEMP TABLE textbook_revenue AS
     WITH purchases AS (
       SELECT user_id, SUM(coins_added) AS revenue
       FROM gamepltx.fact
       WHERE time >= @start_ts AND time < @end_ts AND event_name = 'purchase'
       GROUP BY user_id
     )
     SELECT GROUPING(s.platform, s.country) AS level, s.platform, s.country, COUNT(*) AS dau, SUM(x.revenue) AS revenue, COUNT(x.user_id) AS payers,
       COUNT(f.user_id) AS first_time_payers, SUM(x.revenue) / COUNT(*) AS arpdau
     FROM daily_kpis.daily_user_panel AS d
     LEFT JOIN purchases AS x ON x.user_id = d.user_id
     LEFT JOIN textbook_first_purchase AS f ON f.user_id = d.user_id
     LEFT JOIN daily_kpis.user_segments AS s ON s.user_id = d.user_id
     WHERE d.date = @start_date
     GROUP BY GROUPING SETS ((), (s.platform), (s.country))`,
  ],
  [
    'daily_sessions',
    `CREATE OR REPLACE TEMP TABLE textbook_sessions AS
     WITH events AS (
       SELECT user_id, time, LAG(time) OVER (PARTITION BY user_id ORDER BY time) AS previous
       FROM gamepltx.fact
       WHERE time >= @start_ts - INTERVAL 30 MINUTE AND time < @end_ts + INTERVAL 30 MINUTE
     ),
     numbered AS (
       SELECT user_id, time,
         SUM(CASE WHEN previous IS NULL OR time - previous > INTERVAL 30 MINUTE THEN 1 ELSE 0 END) OVER (PARTITION BY user_id ORDER BY time) AS session
       FROM events
     ),
     sessions AS (
       SELECT user_id, MIN(time) AS started, epoch(MAX(time)) - epoch(MIN(time)) AS seconds
       FROM numbered
       GROUP BY user_id, session
     )
     SELECT GROUPING(s.platform, s.country) AS level, s.platform, s.country, COUNT(*) AS sessions, MEDIAN(x.seconds) AS median_session_seconds
     FROM sessions AS x
     LEFT JOIN daily_kpis.user_segments AS s ON s.user_id = x.user_id
     WHERE x.started >= @start_ts AND x.started < @end_ts
     GROUP BY GROUPING SETS ((), (s.platform), (s.country))`,
  ],
  [
    'daily_engagement',
    `CREATE OR REPLACE TEMP TABLE textbook_engagement AS
     SELECT GROUPING(s.platform, s.country) AS level, s.platform, s.country,
       COUNT(DISTINCT p.user_id) FILTER (WHERE p.date = @start_date) AS dau,
       COUNT(DISTINCT p.user_id) FILTER (WHERE p.date > @start_date - 7) AS wau,
       COUNT(DISTINCT p.user_id) AS mau
     FROM daily_kpis.daily_user_panel AS p
     LEFT JOIN daily_kpis.user_segments AS s ON s.user_id = p.user_id
     WHERE p.date BETWEEN @start_date - 29 AND @start_date
     GROUP BY GROUPING SETS ((), (s.platform), (s.country))`,
  ],
  [
    'retention',
    `CREATE OR REPLACE TEMP TABLE textbook_retention AS
     WITH cells AS (
       SELECT i.user_id, i.install_date, n.n, i.install_date + n.n AS maturity
       FROM daily_kpis.installs AS i, (VALUES (1), (7), (30)) AS n(n)
       WHERE i.install_date BETWEEN @start_date - 30 AND @start_date AND i.install_date + n.n <= @start_date
     ),
     active AS (
       SELECT p.user_id, p.date
       FROM daily_kpis.daily_user_panel AS p
       WHERE p.date BETWEEN @start_date - 29 AND @start_date AND p.user_id IN (SELECT user_id FROM cells)
     )
     SELECT GROUPING(s.platform, s.country) AS level, c.install_date, c.n, s.platform, s.country, COUNT(*) AS cohort_size,
       COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM active AS a WHERE a.user_id = c.user_id AND a.date = c.maturity)) AS retained,
       COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM active AS a WHERE a.user_id = c.user_id AND a.date >= c.maturity)) AS retained_rolling
     FROM cells AS c
     LEFT JOIN daily_kpis.user_segments AS s ON s.user_id = c.user_id
     GROUP BY GROUPING SETS ((c.install_date, c.n), (c.install_date, c.n, s.platform), (c.install_date, c.n, s.country))`,
  ],
]);

/** Each textbook query's time in ms for `day`, by pack table, in the order above (first_purchase before revenue reads it). */
export async function textbookPack(
  warehouse: DuckDbWarehouse,
  day: { start: Date; end: Date; date: string },
): Promise<Map<string, number>> {
  const params: QueryParams = {
    start_ts: { type: 'TIMESTAMP', value: day.start },
    end_ts: { type: 'TIMESTAMP', value: day.end },
    start_date: { type: 'DATE', value: day.date },
  };
  const context = { job: 'bench', runId: 'textbook' };
  const times = new Map<string, number>();
  for (const [table, query] of TEXTBOOK_QUERIES) {
    const started = process.hrtime.bigint();
    await warehouse.query(query, params, context);
    times.set(table, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

/** The all-users figures of the textbook queries (GROUPING 3: neither platform nor country) and of the pack's tables for `date`. */
const SAME_FIGURES = `
  SELECT 'textbook' AS side,
    (SELECT revenue FROM textbook_revenue WHERE level = 3) AS revenue,
    (SELECT first_time_payers FROM textbook_revenue WHERE level = 3) AS first_time_payers,
    (SELECT sessions FROM textbook_sessions WHERE level = 3) AS sessions,
    (SELECT mau FROM textbook_engagement WHERE level = 3) AS mau,
    (SELECT SUM(cohort_size) FROM textbook_retention WHERE level = 3) AS cohort_sizes,
    (SELECT SUM(retained_rolling) FROM textbook_retention WHERE level = 3) AS retained_rolling
  UNION ALL
  SELECT 'pack',
    (SELECT revenue FROM daily_kpis.daily_revenue WHERE date = @start_date AND platform = '(all)' AND country = '(all)'),
    (SELECT first_time_payers FROM daily_kpis.daily_revenue WHERE date = @start_date AND platform = '(all)' AND country = '(all)'),
    (SELECT sessions FROM daily_kpis.daily_sessions WHERE date = @start_date AND platform = '(all)' AND country = '(all)'),
    (SELECT mau FROM daily_kpis.daily_engagement WHERE date = @start_date AND platform = '(all)' AND country = '(all)'),
    (SELECT SUM(cohort_size) FROM daily_kpis.retention WHERE date = @start_date AND platform = '(all)' AND country = '(all)'),
    (SELECT SUM(retained_rolling) FROM daily_kpis.retention WHERE date = @start_date AND platform = '(all)' AND country = '(all)')`;

/** Throws when the textbook queries and the pack's tables disagree on `date`: the ratio would compare different work. */
export async function assertSameFigures(warehouse: DuckDbWarehouse, date: string): Promise<void> {
  const rows = await warehouse.query(
    SAME_FIGURES,
    { start_date: { type: 'DATE', value: date } },
    { job: 'bench', runId: 'textbook' },
  );
  const [textbook, pack] = rows.map(({ side: _side, ...figures }) => JSON.stringify(figures));
  if (textbook !== pack)
    throw new Error(`the textbook queries and the KPI pack disagree on ${date}: ${textbook} against ${pack}`);
}
