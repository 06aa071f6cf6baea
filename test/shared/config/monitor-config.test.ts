import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DETECTION_DEFAULTS, loadKpiChecks, loadLogChecks, METHOD_DEFAULTS } from '../../../shared/config/monitor-config';
import { ConfigError } from '../../../shared/errors';

const folder = mkdtempSync(path.join(tmpdir(), 'kpis-monitor-config-'));
function configFile(content: unknown): string {
  const file = path.join(folder, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const minimal = { dataset: 'daily_kpis', table_id: 'daily_user_panel' };

describe('loadKpiChecks', () => {
  test('the shipped config: dau, installs, last_activity and events, enabled, on the weekday method', () => {
    const checks = loadKpiChecks();
    expect(checks.map((check) => [check.name, check.metric, check.method, check.isEnable])).toEqual([
      ['dau', 'dau', 'weekday', true],
      ['installs', 'installs', 'weekday', true],
      ['last_activity', 'last_activity', 'weekday', true],
      ['events', 'events', 'weekday', true],
    ]);
  });

  test('fills every default from one place, per method', () => {
    const [check] = loadKpiChecks(configFile({ kpis: { dau: minimal } }));
    expect(check).toEqual({ ...DETECTION_DEFAULTS, ...METHOD_DEFAULTS.weekday, ...minimal, description: '', name: 'dau', metric: 'dau' });
    const [zscore] = loadKpiChecks(configFile({ kpis: { dau: { ...minimal, method: 'zscore' } } }));
    expect(zscore).toMatchObject({ method: 'zscore', training_days: 28, min_training_days: 14, sensitivity: 3 });
    const [pct] = loadKpiChecks(configFile({ kpis: { dau: { ...minimal, method: 'pct_change' } } }));
    expect(pct).toMatchObject({ method: 'pct_change', thresh_in_percent: 0.1, min_training_days: 1 });
  });

  test('a check may watch a metric under another name', () => {
    const [check] = loadKpiChecks(configFile({ kpis: { weekend_dau: { ...minimal, metric: 'dau', direction: 'drop' } } }));
    expect(check).toMatchObject({ name: 'weekend_dau', metric: 'dau', direction: 'drop' });
  });

  test.each([
    ['an unknown method', { dau: { ...minimal, method: 'prophet' } }, '$.kpis.dau.method: must be one of pct_change, weekday, zscore, got prophet'],
    ['an unknown direction', { dau: { ...minimal, direction: 'up' } }, '$.kpis.dau.direction: must be one of both, spike, drop, got up'],
    ['an unknown severity', { dau: { ...minimal, severity: 'critical' } }, '$.kpis.dau.severity: must be one of warn, error, got critical'],
    ['a threshold of 0', { dau: { ...minimal, thresh_in_percent: 0 } }, '$.kpis.dau.thresh_in_percent: must be greater than 0'],
    ['a missing table', { dau: { dataset: 'daily_kpis' } }, '$.kpis.dau.table_id: is required'],
    ['an unknown field', { dau: { ...minimal, treshold: 2 } }, '$.kpis.dau.treshold: is not allowed'],
    ['a name that is no metric', { retention: minimal }, '$.kpis.retention.metric: is required when the check\'s name is not a metric; must be one of dau, installs, last_activity, events'],
    ['min_training_days above training_days', { dau: { ...minimal, training_days: 7, min_training_days: 14 } }, '$.kpis.dau.min_training_days: (14) must not exceed training_days (7)'],
  ])('names the file, the path and the allowed values for %s', (_name, kpis, message) => {
    const file = configFile({ kpis });
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(`${file}: invalid config`);
    expect(() => loadKpiChecks(file)).toThrow(message);
  });
});

describe('loadLogChecks', () => {
  test('the shipped config watches the daily_kpis ETL for a finished run within 26 hours', () => {
    expect(loadLogChecks()).toEqual([
      expect.objectContaining({ name: 'daily_kpis_etl', job_name: 'daily_kpis', file_name: null, step_name: 'end', thresh_in_hours: 26 }),
    ]);
  });

  test('defaults and errors', () => {
    expect(loadLogChecks(configFile({ logs: { etl: { job_name: 'daily_kpis', thresh_in_hours: 2 } } }))).toEqual([
      { name: 'etl', job_name: 'daily_kpis', file_name: null, step_name: 'end', thresh_in_hours: 2, message: '{job_name} has not finished a run for {hours} hours', description: '' },
    ]);
    const file = configFile({ logs: { etl: { job_name: 'daily_kpis', thresh_in_hours: -1 } } });
    expect(() => loadLogChecks(file)).toThrow('$.logs.etl.thresh_in_hours: must be greater than 0');
  });
});
