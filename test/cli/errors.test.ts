/**
 * What the `kpis` command says when the machine is in the way (a folder it must not empty, a path
 * it cannot write, a port in use): one line naming the thing, exit 2, no stack.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runKpis, type Run } from '../helpers/cli';
import { tempDir } from '../helpers/history';

const NOW = '2026-11-27T06:00:00Z';

const kpis = (args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> => runKpis(args, cwd, NOW, env);

/** One line on stderr, nothing on stdout, exit 2: a user's mistake, said once. */
function expectOneLine(run: Run, line: string): void {
  expect(run).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
}

describe('kpis stage', () => {
  test('a folder holding files of its own is refused in one line and keeps them', async () => {
    const dir = tempDir('kpis-cli-stage-');
    const mine = path.join(dir, 'mine');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'important.txt'), 'keep me');
    expectOneLine(await kpis(['stage', 'mine'], dir), `kpis stage: will not empty ${mine}: it holds files kpis stage did not write (no .kpis-stage): give a new or empty folder`);
    expect(readFileSync(path.join(mine, 'important.txt'), 'utf8')).toBe('keep me');
  });

  test('the current folder is refused, even when empty', async () => {
    const dir = tempDir('kpis-cli-stage-');
    expectOneLine(await kpis(['stage', '.'], dir), `kpis stage: will not empty ${dir}: it is or holds the current folder`);
  });
});
