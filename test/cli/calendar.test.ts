/** `kpis calendar add|list|remove`, run in-process against a calendar file in a temp folder. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../cli/main';
import { tempDir } from '../helpers/history';

async function kpis(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env });
  return { code, stdout, stderr };
}

test('add writes a formatted file, oldest first; list numbers the entries; remove takes a number', async () => {
  const file = path.join(tempDir(), 'calendar.json');
  const campaign = [
    'calendar',
    'add',
    '--calendar',
    file,
    '--date',
    '2026-11-27',
    '--checks',
    'dau,installs',
    '--kind',
    'one_off',
    '--note',
    'Black Friday',
  ];
  expect(await kpis(campaign)).toMatchObject({ code: 0, stdout: `Added to ${file}; it has 1 entry.\n` });
  const holiday = [
    '--start',
    '2026-12-24',
    '--end',
    '2026-12-26',
    '--checks',
    'all',
    '--kind',
    'one_off',
    '--note',
    'Christmas',
    '--recurring',
    'yearly',
  ];
  expect((await kpis(['calendar', 'add', '--calendar', file, ...holiday])).code).toBe(0);
  const price = [
    '--date',
    '2026-10-01',
    '--checks',
    'events',
    '--segments',
    'IOS',
    '--kind',
    'new_normal',
    '--note',
    'price change',
  ];
  expect((await kpis(['calendar', 'add', ...price], { KPIS_CALENDAR: file })).code).toBe(0);

  const text = readFileSync(file, 'utf8');
  expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  expect(JSON.parse(text).entries).toEqual([
    { date: '2026-10-01', checks: ['events'], segments: ['IOS'], kind: 'new_normal', note: 'price change' },
    { date: '2026-11-27', checks: ['dau', 'installs'], kind: 'one_off', note: 'Black Friday' },
    { start: '2026-12-24', end: '2026-12-26', checks: 'all', kind: 'one_off', note: 'Christmas', recurring: 'yearly' },
  ]);

  const listed = await kpis(['calendar', 'list', '--calendar', file]);
  expect(listed.code).toBe(0);
  expect(listed.stdout.split('\n')[0]).toMatch(/^#\s+days\s+kind\s+checks\s+segments\s+note$/);
  expect(listed.stdout).toMatch(/2\s+2026-11-27\s+one_off\s+dau, installs\s+Black Friday/);
  expect(listed.stdout).toMatch(/3\s+2026-12-24\.\.2026-12-26\s+one_off, yearly\s+all\s+Christmas/);
  expect(JSON.parse((await kpis(['calendar', 'list', '--calendar', file, '--json'])).stdout)).toHaveLength(3);

  expect(await kpis(['calendar', 'remove', '2', '--calendar', file])).toMatchObject({
    code: 0,
    stdout: `Removed from ${file}; it has 2 entries.\n`,
  });
  expect(JSON.parse(readFileSync(file, 'utf8')).entries.map((entry: { note: string }) => entry.note)).toEqual([
    'price change',
    'Christmas',
  ]);
});

test.each([
  [
    ['add', '--date', '2026-11-27', '--checks', 'dau,nope', '--kind', 'one_off', '--note', 'x'],
    '$.entries[1].checks: no check named "nope"',
  ],
  [
    ['add', '--start', '2026-11-27', '--end', '2026-11-20', '--checks', 'dau', '--kind', 'one_off', '--note', 'x'],
    '$.entries[1].end: 2026-11-20 is before start 2026-11-27',
  ],
  [
    ['add', '--date', '2026-11-01', '--checks', 'all', '--kind', 'new_normal', '--note', 'x'],
    'overlaps $.entries[0] (2026-11-01..2026-11-01) for dau',
  ],
  [
    ['add', '--date', '2026-11-27', '--checks', 'dau', '--kind', 'holiday', '--note', 'x'],
    '--kind must be one of one_off, new_normal, got "holiday"',
  ],
  [['add', '--checks', 'dau', '--kind', 'one_off'], 'add needs --date (or start and end), --note'],
  [['remove', '7'], 'remove takes the number of an entry as list shows it (1 to 1), got "7"'],
  [['rename'], 'the action must be one of add, list, remove, got "rename"'],
])('kpis calendar %j exits 2, says why, and leaves the file as it was', async (args, message) => {
  const file = path.join(tempDir(), 'calendar.json');
  const before = `${JSON.stringify({ entries: [{ date: '2026-11-01', checks: ['dau'], kind: 'new_normal', note: 'tracking change' }] }, null, 2)}\n`;
  writeFileSync(file, before);
  const result = await kpis(['calendar', ...args, '--calendar', file]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(message);
  expect(readFileSync(file, 'utf8')).toBe(before);
});

test('list and remove need the named file; --help says every flag', async () => {
  const missing = path.join(tempDir(), 'none.json');
  expect((await kpis(['calendar', 'list', '--calendar', missing])).stderr).toContain(
    'none.json: cannot read config file (ENOENT)',
  );
  expect(existsSync(missing)).toBe(false);
  const help = await kpis(['calendar', '--help']);
  expect(help.code).toBe(0);
  for (const flag of [
    '--date D',
    '--start D --end D',
    '--checks a,b | all',
    '--kind one_off|new_normal',
    '--note TEXT',
    '--segments',
    '--recurring yearly',
    '--calendar FILE',
  ]) {
    expect(help.stdout).toContain(flag);
  }
});
