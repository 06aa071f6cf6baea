import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DETECTION_DEFAULTS, loadKpiChecks, METHOD_DEFAULTS } from '../../../shared/config/kpi-checks';
import { loadLogChecks } from '../../../shared/config/log-checks';
import { ConfigError } from '../../../shared/errors';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-monitor-config-'));
function configFile(content: unknown): string {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const minimal = { dataset: 'daily_kpis', table_id: 'daily_user_panel' };

describe('loadKpiChecks', () => {
  test('the shipped config: the four built-in series, the two examples and the KPI pack, enabled, on the weekday method', () => {
    const checks = loadKpiChecks();
    expect(checks.map((check) => [check.name, check.metric, check.method, check.isEnable])).toEqual([
      ['dau', 'dau', 'weekday', true],
      ['installs', 'installs', 'weekday', true],
      ['last_activity', 'last_activity', 'weekday', true],
      ['events', 'events', 'weekday', true],
      ['coins', null, 'weekday', true],
      ['events_by_name', null, 'weekday', true],
      ['retention', null, 'weekday', true],
      ['revenue', null, 'weekday', true],
      ['arpdau', null, 'weekday', true],
      ['conversion', null, 'weekday', true],
      ['stickiness', null, 'weekday', true],
      ['sessions_per_dau', null, 'weekday', true],
      ['revenue_by_platform', null, 'weekday', true],
      ['revenue_by_country', null, 'weekday', true],
      ['retention_by_platform', null, 'weekday', true],
      ['stickiness_by_country', null, 'weekday', true],
    ]);
    expect(
      checks.filter((check) => check.min_denominator > 0).map((check) => [check.name, check.min_denominator]),
    ).toEqual([
      ['retention', 50],
      ['arpdau', 100],
      ['conversion', 100],
      ['stickiness', 100],
      ['sessions_per_dau', 100],
      ['retention_by_platform', 50],
      ['stickiness_by_country', 100],
    ]);
  });

  test('fills every default from one place, per method', () => {
    const [check] = loadKpiChecks(configFile({ kpis: { dau: minimal } }));
    expect(check).toEqual({
      ...DETECTION_DEFAULTS,
      ...METHOD_DEFAULTS.weekday,
      ...minimal,
      description: '',
      name: 'dau',
      metric: 'dau',
      first_seen: false,
      note: null,
      sqlLabel: 'monitors/dau.sql',
      query: expect.stringContaining('SELECT date AS day, COUNT(*) AS value'),
    });
    const [zscore] = loadKpiChecks(configFile({ kpis: { dau: { ...minimal, method: 'zscore' } } }));
    expect(zscore).toMatchObject({ method: 'zscore', training_days: 28, min_training_days: 14, sensitivity: 3 });
    const [pct] = loadKpiChecks(configFile({ kpis: { dau: { ...minimal, method: 'pct_change' } } }));
    expect(pct).toMatchObject({ method: 'pct_change', thresh_in_percent: 0.1, min_training_days: 1 });
  });

  test('a check may watch a metric under another name', () => {
    const [check] = loadKpiChecks(
      configFile({ kpis: { weekend_dau: { ...minimal, metric: 'dau', direction: 'drop' } } }),
    );
    expect(check).toMatchObject({ name: 'weekend_dau', metric: 'dau', direction: 'drop' });
  });

  test.each([
    [
      'an unknown method',
      { dau: { ...minimal, method: 'prophet' } },
      '$.kpis.dau.method: must be one of pct_change, weekday, zscore, got prophet',
    ],
    [
      'an unknown direction',
      { dau: { ...minimal, direction: 'up' } },
      '$.kpis.dau.direction: must be one of both, spike, drop, got up',
    ],
    [
      'an unknown severity',
      { dau: { ...minimal, severity: 'critical' } },
      '$.kpis.dau.severity: must be one of warn, error, got critical',
    ],
    [
      'a threshold of 0',
      { dau: { ...minimal, thresh_in_percent: 0 } },
      '$.kpis.dau.thresh_in_percent: must be greater than 0',
    ],
    [
      'a bad table name',
      { dau: { dataset: 'daily_kpis', table_id: 'daily-panel' } },
      '$.kpis.dau.table_id: must be letters, digits and underscores',
    ],
    ['an unknown field', { dau: { ...minimal, treshold: 2 } }, '$.kpis.dau.treshold: is not allowed'],
    [
      'a name that is no built-in series',
      { retention: minimal },
      '$.kpis.retention: is not a built-in series (dau, installs, last_activity, events): give metric, sql, or the short form (table_id, date_column, value)',
    ],
    [
      'an unknown metric',
      { retention: { ...minimal, metric: 'retention' } },
      '$.kpis.retention.metric: must be one of dau, installs, last_activity, events, got retention',
    ],
    [
      'two forms at once',
      { coins: { ...minimal, sql: 'x.sql', value: 'SUM(coins)', date_column: 'date' } },
      '$.kpis.coins: give one of sql, value (the short form) or metric, not sql and value',
    ],
    [
      'a short form without its date column',
      { coins: { ...minimal, value: 'SUM(coins)' } },
      '$.kpis.coins.date_column: is required by the short form',
    ],
    [
      'a short form without its table',
      { coins: { dataset: 'daily_kpis', value: 'SUM(coins)', date_column: 'date' } },
      '$.kpis.coins.table_id: is required by the short form',
    ],
    [
      'a value that hides a second statement',
      { coins: { ...minimal, value: 'SUM(coins); DROP TABLE x', date_column: 'date' } },
      '$.kpis.coins.value: must be one SQL expression, such as SUM(coins)',
    ],
    [
      'a value with a comment',
      { coins: { ...minimal, value: 'SUM(coins) -- all', date_column: 'date' } },
      '$.kpis.coins.value: must be one SQL expression',
    ],
    [
      'a segment that is no column name',
      { coins: { ...minimal, value: 'SUM(coins)', date_column: 'date', segment: 'a b' } },
      '$.kpis.coins.segment: must be letters, digits and underscores',
    ],
    [
      'a segment without the short form',
      { coins: { ...minimal, segment: 'platform' } },
      '$.kpis.coins: date_column and segment belong to the short form, which needs value too',
    ],
    [
      'max_segments of 0',
      { coins: { ...minimal, value: 'SUM(coins)', date_column: 'date', max_segments: 0 } },
      '$.kpis.coins.max_segments: must be greater than or equal to 1',
    ],
    [
      'a sql file outside the config folder',
      { coins: { sql: '../elsewhere.sql' } },
      '$.kpis.coins.sql: "../elsewhere.sql" is outside the config\'s folder',
    ],
    [
      'a missing sql file',
      { coins: { sql: 'custom/missing.sql' } },
      '$.kpis.coins.sql: "custom/missing.sql": no such file',
    ],
    [
      'min_training_days above training_days',
      { dau: { ...minimal, training_days: 7, min_training_days: 14 } },
      '$.kpis.dau.min_training_days: (14) must not exceed training_days (7)',
    ],
  ])('names the file, the path and the allowed values for %s', (_name, kpis, message) => {
    const file = configFile({ kpis });
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(`${file}: invalid config`);
    expect(() => loadKpiChecks(file)).toThrow(message);
  });
});

describe("the seed's kpis_config.json, unchanged", () => {
  const seed = {
    daily_kpis: {
      kpis: {
        dau: {
          dataset: 'daily_kpis',
          table_id: 'daily_user_panel',
          thresh_in_percent: 0.1,
          d1: 'dau_d1',
          description: 'DAU',
          isEnable: true,
        },
        installs: {
          dataset: 'daily_kpis',
          table_id: 'installs',
          thresh_in_percent: 0.1,
          d1: 'installs_d1',
          description: 'Installs',
          isEnable: true,
        },
        last_activity: {
          dataset: 'daily_kpis',
          table_id: 'last_activity',
          thresh_in_percent: 0.1,
          d1: 'last_activity_d1',
          description: 'Last activity',
          isEnable: true,
        },
      },
    },
  };

  test('loads the three checks of its group; d1 is accepted; last_activity reads what it watches and says why', () => {
    const checks = loadKpiChecks(configFile(seed));
    expect(checks.map((check) => [check.name, check.metric, check.table_id, check.thresh_in_percent])).toEqual([
      ['dau', 'dau', 'daily_user_panel', 0.1],
      ['installs', 'installs', 'installs', 0.1],
      ['last_activity', 'last_activity', 'daily_user_panel', 0.1],
    ]);
    expect(checks[2]?.note).toBe(
      'table_id last_activity is not read: last_activity is watched as returning users, from daily_user_panel and installs (README: Monitoring)',
    );
    expect(checks[0]?.note).toBeNull();
  });

  test.each([
    [
      'two groups',
      { a: seed.daily_kpis, b: seed.daily_kpis },
      "must hold the checks under kpis, or in the seed's shape exactly one group holding kpis",
    ],
    [
      'an unknown field in the seed shape',
      { daily_kpis: { kpis: { dau: { ...seed.daily_kpis.kpis.dau, d2: 'x' } } } },
      '$.daily_kpis.kpis.dau.d2: is not allowed',
    ],
    // In neither shape: both lists of problems, the closest shape first.
    [
      'an unknown field in the seed shape (closest)',
      { daily_kpis: { kpis: { dau: { ...seed.daily_kpis.kpis.dau, d2: 'x' } } } },
      "closest, as the cron job's shape",
    ],
    [
      'an unknown field in the current shape (closest)',
      { kpis: { dau: { thresh_in_percent: 0.1, colour: 'red' } } },
      'closest, as daily-kpis\' shape {"kpis": {NAME: {...}}}, 1 problem:\n    $.kpis.dau.colour: is not allowed',
    ],
  ])('%s names the file and the path', (_name, content, message) => {
    const file = configFile(content);
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(message);
  });
});

describe('user-defined checks', () => {
  const sqlFile = (name: string, text: string): string => {
    mkdirSync(path.join(folder, 'custom'), { recursive: true });
    writeFileSync(path.join(folder, 'custom', name), text);
    return `custom/${name}`;
  };

  test('a sql file relative to the config folder: its query, no table of its own', () => {
    const sql = sqlFile(
      'arpu.sql',
      'SELECT date AS day, SUM(coins) / COUNT(*) AS value\nFROM {{daily_kpis.daily_coins}}\nWHERE date BETWEEN @start_date AND @end_date\nGROUP BY date;\n',
    );
    const [check] = loadKpiChecks(configFile({ kpis: { arpu: { sql, thresh_in_percent: 0.2 } } }));
    expect(check).toMatchObject({
      name: 'arpu',
      metric: null,
      sqlLabel: sql,
      table_id: null,
      dataset: 'daily_kpis',
      thresh_in_percent: 0.2,
      max_segments: 20,
    });
    expect(check?.query).toBe(
      'SELECT date AS day, SUM(coins) / COUNT(*) AS value\nFROM {{daily_kpis.daily_coins}}\nWHERE date BETWEEN @start_date AND @end_date\nGROUP BY date',
    );
  });

  test('the short form, with and without a segment', () => {
    const [plain, segmented] = loadKpiChecks(
      configFile({
        kpis: {
          coins: { dataset: 'daily_kpis', table_id: 'daily_coins', date_column: 'date', value: 'SUM(coins)' },
          events_by_name: {
            dataset: 'daily_kpis',
            table_id: 'daily_events',
            date_column: 'date',
            value: 'SUM(events)',
            segment: 'event_name',
            max_segments: 3,
          },
        },
      }),
    );
    expect(plain).toMatchObject({ table_id: 'daily_coins', sqlLabel: 'the short form' });
    expect(plain?.query).toContain(
      'SELECT date AS day, SUM(coins) AS value\nFROM {{table}}\nWHERE date BETWEEN @start_date AND @end_date\nGROUP BY date',
    );
    expect(segmented).toMatchObject({ max_segments: 3 });
    expect(segmented?.query).toContain(
      'SELECT date AS day, CAST(event_name AS STRING) AS segment, SUM(events) AS value',
    );
  });

  test.each([
    ['two statements', 'SELECT 1 AS day;\nSELECT 2 AS value;\n', 'must hold exactly one SELECT statement, found 2'],
    ['not a SELECT', 'DELETE FROM {{daily_kpis.installs}}', 'must be a SELECT (or WITH ... SELECT) query'],
    ['a placeholder that is no table', 'SELECT day, value FROM {{a.b.c}}', '{{a.b.c}} is not a table'],
  ])('a sql file with %s names the file, the entry and the SQL file', (_name, text, message) => {
    const sql = sqlFile(`bad-${Math.random().toString(36).slice(2)}.sql`, text);
    const file = configFile({ kpis: { bad: { sql } } });
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(`${file}: invalid config\n  $.kpis.bad.sql (${sql}): ${message}`);
  });
});

describe('loadLogChecks', () => {
  test('the shipped config watches the ETL job for a finished run within 26 hours, whatever the ETL group is called', () => {
    expect(loadLogChecks()).toEqual([
      expect.objectContaining({
        name: 'daily_kpis_etl',
        job_name: 'daily_kpis',
        follows_etl_dataset: 'daily_kpis',
        file_name: null,
        step_name: 'end',
        thresh_in_hours: 26,
      }),
    ]);
    expect(loadLogChecks(undefined, 'my_game')).toEqual([
      expect.objectContaining({ name: 'daily_kpis_etl', job_name: 'my_game' }),
    ]);
    expect(
      loadLogChecks(configFile({ logs: { other: { job_name: 'nightly', thresh_in_hours: 2 } } }), 'my_game'),
    ).toEqual([expect.objectContaining({ job_name: 'nightly' })]);
  });

  test("the cron job's shape: a crontab line's --etl-name runs the group of that key when there is one, else every group", () => {
    const file = configFile({
      log: { alerts: { etl_finished: { thresh_in_hours: 26 } } },
      other: { alerts: { nightly: { job_name: 'nightly', thresh_in_hours: 2 } } },
    });
    const names = (group?: string) => loadLogChecks(file, 'daily_kpis', 'daily_kpis', group).map((check) => check.name);
    expect(names('log')).toEqual(['etl_finished']);
    expect(names('other')).toEqual(['nightly']);
    expect(names('log_monitor')).toEqual(['etl_finished', 'nightly']);
    expect(names()).toEqual(['etl_finished', 'nightly']);
  });

  test('defaults and errors', () => {
    expect(loadLogChecks(configFile({ logs: { etl: { job_name: 'daily_kpis', thresh_in_hours: 2 } } }))).toEqual([
      {
        name: 'etl',
        job_name: 'daily_kpis',
        follows_etl_dataset: null,
        file_name: null,
        step_name: 'end',
        thresh_in_hours: 2,
        message: '{job_name} has not finished a run for {hours} hours',
        message_like: null,
        counts_daily_kpis_runs: false,
        description: '',
      },
    ]);
    const file = configFile({ logs: { etl: { job_name: 'daily_kpis', thresh_in_hours: -1 } } });
    expect(() => loadLogChecks(file)).toThrow('$.logs.etl.thresh_in_hours: must be greater than 0');
  });
});
