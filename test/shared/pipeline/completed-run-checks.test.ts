/**
 * Which days the KPI monitor judges after a run: only complete ones. A day is complete once its
 * end in the business zone is past, plus each check's complete_after_hours; a day held back is
 * judged by a later run, once complete; restated days are judged again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadKpiChecks, type KpiCheck } from '../../../shared/config/kpi-checks';
import { ConfigError } from '../../../shared/errors';
import { judgedDays } from '../../../shared/pipeline/completed-run-checks';

const [dau, installs] = ['dau', 'installs'].map(
  (name) => loadKpiChecks().find((check) => check.name === name) as KpiCheck,
) as [KpiCheck, KpiCheck];

function judged(checks: KpiCheck[], built: string[], now: string, timeZone = 'UTC'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const group of judgedDays(checks, built, new Date(now), timeZone))
    for (const check of group.checks) out[check.name] = group.dates;
  return out;
}

test('complete_after_hours 0 (the default) judges the run days as before', () => {
  expect(dau.complete_after_hours).toBe(0);
  expect(judged([dau, installs], ['2026-11-26'], '2026-11-27T06:30:00Z')).toEqual({
    dau: ['2026-11-26'],
    installs: ['2026-11-26'],
  });
});

test('a check with a grace waits for it: held back at the first run, judged by the next one once complete', () => {
  const late = { ...dau, complete_after_hours: 30 };
  // The 26th completes for dau at 06:00 on the 28th; the 25th completed at 06:00 today.
  expect(judged([late, installs], ['2026-11-26'], '2026-11-27T06:30:00Z')).toEqual({
    dau: ['2026-11-25'],
    installs: ['2026-11-26'],
  });
  expect(judged([late, installs], ['2026-11-27'], '2026-11-28T06:30:00Z')).toEqual({
    dau: ['2026-11-26'],
    installs: ['2026-11-27'],
  });
});

test('the grace counts from the end of the day in the business zone', () => {
  const late = { ...dau, complete_after_hours: 2 };
  // Los Angeles' 2026-11-26 ends at 08:00 UTC on the 27th.
  expect(judged([late], ['2026-11-26'], '2026-11-27T09:30:00Z', 'America/Los_Angeles')).toEqual({
    dau: ['2026-11-25'],
  });
  expect(judged([late], ['2026-11-26'], '2026-11-27T10:00:00Z', 'America/Los_Angeles')).toEqual({
    dau: ['2026-11-26'],
  });
});

test('restated days are judged again with the run days', () => {
  expect(judged([dau], ['2026-11-22', '2026-11-26'], '2026-11-27T06:30:00Z')).toEqual({
    dau: ['2026-11-22', '2026-11-26'],
  });
});

test.each([-1, '3', null])(
  'complete_after_hours %p is refused, naming the file, the entry and the allowed values',
  (value) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpis-complete-')), 'kpis_config.json');
    writeFileSync(file, JSON.stringify({ kpis: { dau: { metric: 'dau', complete_after_hours: value } } }));
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(file);
    expect(() => loadKpiChecks(file)).toThrow(/\$\.kpis\.dau\.complete_after_hours.*number of hours from 0 to 8784/);
  },
);
