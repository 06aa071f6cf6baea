/** `kpis report --out`: a place it cannot write to is one clear line and an exit code, not a stack trace. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Io } from '../../cli/context';
import { run } from '../../cli/main';
import { tempDir } from '../helpers/history';

async function kpis(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, KPIS_WAREHOUSE: '', KPIS_NOW: '2026-11-27T06:00:00Z', ...env },
  };
  return { code: await run(args, io), stdout, stderr };
}

const dir = tempDir('kpis-report-out-');
const warehouse = `duckdb:${path.join(dir, 'w.duckdb')}`;

test('a writable --out gets the report', async () => {
  const out = path.join(dir, 'sub', 'report.html');
  const written = await kpis(['report', '--warehouse', warehouse, '--out', out]);
  expect(written).toMatchObject({ code: 0, stderr: '' });
  expect(readFileSync(out, 'utf8')).toContain('</html>');
});

test.each([
  ['', 2, /^kpis report: --out must name a file, got ""\n/],
  [dir, 2, /^kpis report: cannot write the report to .*: it is a directory\n/],
  ['/dev/full', 1, /^kpis report: cannot write the report to \/dev\/full: no space left on the device \(ENOSPC\)\n$/],
  [
    path.join(dir, 'w.duckdb', 'report.html'),
    1,
    /^kpis report: cannot write the report to .*: a part of the path is a file \((ENOTDIR|EEXIST)\)\n$/,
  ],
])('--out %j: exit %d with one clear line', async (out, code, message) => {
  const failed = await kpis(['report', '--warehouse', warehouse, '--out', out]);
  expect(failed.code).toBe(code);
  expect(failed.stderr).toMatch(message);
  expect(failed.stderr).not.toMatch(/\n\s+at /);
});
