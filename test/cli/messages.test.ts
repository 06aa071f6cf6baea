/** What the CLI says when a date or a setting is wrong: the bound it names, and the flag or variable the value came from. */
import type { Io } from '../../cli/context';
import { run } from '../../cli/main';
import { tempDir } from '../helpers/history';

/** 2026-12-01 in UTC: today; 2026-12-02 is tomorrow. */
const NOW = '2026-12-01T10:00:00Z';

async function kpis(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: { ...process.env, KPIS_WAREHOUSE: '', KPIS_NOW: NOW, ...env } };
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
