/** exclude_raised_days in config/kpis_config.json: on by default, off for the whole config or one check. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { tempDir } from '../../helpers/history';

const dau = { dataset: 'daily_kpis', table_id: 'daily_user_panel' };
const installs = { ...dau, table_id: 'installs' };

function load(content: unknown) {
  const file = path.join(tempDir(), 'kpis_config.json');
  writeFileSync(file, JSON.stringify(content));
  return Object.fromEntries(loadKpiChecks(file).map((check) => [check.name, check.exclude_raised_days]));
}

test('on unless the defaults or the check say otherwise; the check wins', () => {
  expect(load({ kpis: { dau, installs } })).toEqual({ dau: true, installs: true });
  expect(
    load({
      defaults: { exclude_raised_days: false },
      kpis: { dau, installs: { ...installs, exclude_raised_days: true } },
    }),
  ).toEqual({ dau: false, installs: true });
  expect(load({ kpis: { dau: { ...dau, exclude_raised_days: false }, installs } })).toEqual({
    dau: false,
    installs: true,
  });
});

test('a value other than true or false is refused with where it is', () => {
  expect(() => load({ kpis: { dau: { ...dau, exclude_raised_days: 'yes' } } })).toThrow(
    '$.kpis.dau.exclude_raised_days: must be a boolean',
  );
  expect(() => load({ defaults: { exclude_raised_days: 1 }, kpis: { dau } })).toThrow(
    '$.defaults.exclude_raised_days: must be a boolean',
  );
});
