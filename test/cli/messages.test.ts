/** What the CLI says when a date or a setting is wrong: the bound it names, and the flag or variable the value came from. */
import { writeFileSync } from 'node:fs';
import type { Io } from '../../cli/context';
import { run } from '../../cli/main';
import { tempDir } from '../helpers/history';

/** 2026-12-01 in UTC: today; 2026-12-02 is tomorrow. */
const NOW = '2026-12-01T10:00:00Z';

async function kpis(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, KPIS_WAREHOUSE: '', KPIS_NOW: NOW, ...env },
  };
  return { code: await run(args, io), stdout, stderr };
}

const dir = tempDir('kpis-messages-');
const warehouse = `duckdb:${dir}/w.duckdb`;

describe('a day past the last one a run may cover names tomorrow as tomorrow', () => {
  test.each([
    ['etl', ['etl', '--date', '2026-12-05', '--dry-run'], '--date 2026-12-05'],
    ['monitor', ['monitor', '--date', '2026-12-05', '--dry-run'], '--date 2026-12-05'],
    ['report', ['report', '--from', '2026-12-10', '--to', '2026-12-12'], '--from 2026-12-10'],
  ])('%s', async (_name, args, what) => {
    const failed = await kpis([...args, '--warehouse', warehouse]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`${what} is outside the days a run may cover (0001-01-01..2026-12-02, tomorrow)`);
  });

  test('the monitor still checks yesterday by default, and the report the weeks up to yesterday', async () => {
    const monitor = await kpis(['monitor', '--dry-run', '--json', '--warehouse', warehouse]);
    expect(monitor.stderr).not.toContain('outside');
    expect(monitor.stdout).toContain('2026-11-30');
    expect(monitor.stdout).not.toContain('2026-12-01');
  });
});

describe('a config file setting names the flag or variable it came from', () => {
  test.each([
    [['time-zone', '--config', ''], {}, /^kpis time-zone: --config must name a file, got ""\n/],
    [['monitor', '--calendar', '', '--dry-run'], {}, /^kpis monitor: --calendar must name a file, got ""\n/],
    [['monitor', '--kpis-config', '', '--dry-run'], {}, /^kpis monitor: --kpis-config must name a file, got ""\n/],
    [
      ['monitor-logs', '--log-config', '', '--dry-run'],
      {},
      /^kpis monitor-logs: --log-config must name a file, got ""\n/,
    ],
    [['time-zone'], { KPIS_CONFIG: ' ' }, /^kpis time-zone: KPIS_CONFIG must name a file, got " "\n/],
  ])('blank: %j %j', async (args, env, message) => {
    const failed = await kpis(args, env);
    expect(failed.stderr).toMatch(message);
    expect(failed.code).toBe(2);
  });

  test.each([
    [
      ['etl', '--dry-run'],
      { KPIS_CONFIG: '/tmp/nope.json' },
      '/tmp/nope.json: cannot read config file (ENOENT) (from KPIS_CONFIG)',
    ],
    [
      ['time-zone', '--config', '/tmp/nope.json'],
      {},
      '/tmp/nope.json: cannot read config file (ENOENT) (from --config)',
    ],
    [
      ['monitor', '--dry-run'],
      { KPIS_MONITOR_CONFIG: '/tmp/nope.json' },
      '/tmp/nope.json: cannot read config file (ENOENT) (from KPIS_MONITOR_CONFIG)',
    ],
    [
      ['monitor', '--dry-run', '--calendar', '/tmp/nope.json'],
      {},
      '/tmp/nope.json: cannot read config file (ENOENT) (from --calendar)',
    ],
    [
      ['report', '--calendar', '/tmp/nope.json'],
      {},
      '/tmp/nope.json: cannot read config file (ENOENT) (from --calendar)',
    ],
    [
      ['validate'],
      { KPIS_LOG_CONFIG: '/tmp/nope.json' },
      '/tmp/nope.json: cannot read config file (ENOENT) (from KPIS_LOG_CONFIG)',
    ],
    [
      ['calendar', 'list'],
      { KPIS_CALENDAR: '/tmp/nope.json' },
      '/tmp/nope.json: cannot read config file (ENOENT) (from KPIS_CALENDAR)',
    ],
    [
      ['monitor-logs', '--dry-run', '--log-config', '/tmp/nope.json'],
      {},
      '/tmp/nope.json: cannot read config file (ENOENT) (from --log-config)',
    ],
    [
      ['schema', '--dir', `${dir}/schema`],
      { KPIS_CONFIG: '/tmp/nope.json' },
      '/tmp/nope.json: cannot read config file (ENOENT) (from KPIS_CONFIG)',
    ],
    [
      ['schema', '--dir', `${dir}/schema`, '--kpis-config', '/tmp/nope.json'],
      {},
      '/tmp/nope.json: cannot read config file (ENOENT) (from --kpis-config)',
    ],
  ])('missing: %j %j', async (args, env, message) => {
    const failed = await kpis([...args, '--warehouse', warehouse], env);
    expect(failed.stderr).toContain(message);
    expect(failed.code).toBe(2);
  });
});

describe('small words', () => {
  test('time-zone --json prints JSON', async () => {
    const shown = await kpis(['time-zone', '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({ time_zone: 'UTC' });
  });

  test('calendar add names the flag of a day that does not exist, and a bad file is an invalid calendar', async () => {
    const file = `${tempDir('kpis-messages-calendar-')}/calendar.json`;
    const add = ['calendar', 'add', '--calendar', file, '--checks', 'dau', '--kind', 'one_off', '--note', 'x'];
    expect((await kpis([...add, '--date', '2026-02-27'])).code).toBe(0);
    const failed = await kpis([...add, '--date', '2026-02-30']);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^kpis calendar: --date must be a calendar day as YYYY-MM-DD, got "2026-02-30"\n/);
    const ended = await kpis([...add, '--start', '2026-02-27', '--end', '2026-02-31']);
    expect(ended.stderr).toMatch(/^kpis calendar: --end must be a calendar day as YYYY-MM-DD, got "2026-02-31"\n/);
    const noted = await kpis([...add.slice(0, -1), '', '--date', '2026-02-28']);
    expect(noted.stderr).toContain(`${file}: invalid calendar\n  $.entries[1].note: is not allowed to be empty`);
  });

  test('one of a thing is said in the singular', async () => {
    const folder = tempDir('kpis-messages-one-');
    const events = `${folder}/events.csv`;
    writeFileSync(events, 'user_id,time,event_name\nu1,2026-11-30T12:00:00Z,session_start\n');
    const own = `duckdb:${folder}/w.duckdb`;
    const loaded = await kpis(['load-events', events, '--warehouse', own]);
    expect(loaded.stdout).toMatch(/^Loaded 1 event from /);
    const reported = await kpis(['report', '--checks', 'dau', '--warehouse', own, '--out', `${folder}/report.html`]);
    expect(reported.stdout).toMatch(/: 1 check, 0 raised check-days, 0 alerts, 0 ETL runs/);
  });
});
