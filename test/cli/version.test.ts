/** `kpis --version`: the package's version, from the compiled command as from the sources. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../cli/main';
import { runKpis } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('kpis --version prints the package version and exits 0, in process and from bin/kpis.js', async () => {
  let out = '';
  const code = await run(['--version'], { stdout: (text) => (out += text), stderr: () => undefined, env: {} });
  expect([code, out]).toEqual([0, `kpis ${VERSION}\n`]);
  const child = await runKpis(['--version'], ROOT, '2026-12-01T06:00:00Z');
  expect([child.code, child.stdout]).toEqual([0, `kpis ${VERSION}\n`]);
});
