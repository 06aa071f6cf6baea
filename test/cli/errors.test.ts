/**
 * What the `kpis` command says when the machine is in the way (a folder it must not empty, a path
 * it cannot write, a port in use): one line naming the thing, exit 2, no stack.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LocalRouter } from '../../shared/local/router';
import { silentLogger } from '../../shared/log';
import { runKpis, type Run } from '../helpers/cli';
import { tempDir } from '../helpers/history';

const NOW = '2026-11-27T06:00:00Z';

const kpis = (args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> =>
  runKpis(args, cwd, NOW, env);

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
    expectOneLine(
      await kpis(['stage', 'mine'], dir),
      `kpis stage: will not empty ${mine}: it holds files kpis stage did not write (no .kpis-stage): give a new or empty folder`,
    );
    expect(readFileSync(path.join(mine, 'important.txt'), 'utf8')).toBe('keep me');
  });

  test('the current folder is refused, even when empty', async () => {
    const dir = tempDir('kpis-cli-stage-');
    expectOneLine(
      await kpis(['stage', '.'], dir),
      `kpis stage: will not empty ${dir}: it is or holds the current folder`,
    );
  });
});

describe('a path or port the command cannot use', () => {
  test('schema --dir under a file, or naming a file: the folder and why, no stack', async () => {
    const dir = tempDir('kpis-cli-schema-');
    writeFileSync(path.join(dir, 'README.md'), 'mine');
    expectOneLine(
      await kpis(['schema', '--dir', '/dev/null/x'], dir),
      'kpis schema: cannot write to /dev/null/x (--dir): not a directory',
    );
    expectOneLine(
      await kpis(['schema', '--dir', 'README.md'], dir),
      'kpis schema: cannot write to README.md (--dir): a file of that name is in the way',
    );
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('mine');
  });

  test('any command: a system error from a file call is the call, the path and why, no stack', async () => {
    const dir = tempDir('kpis-cli-init-');
    expectOneLine(
      await kpis(['init', '--warehouse', 'duckdb:/dev/null/w.duckdb'], dir),
      'kpis init: cannot mkdir /dev/null: a file of that name is in the way',
    );
  });

  test.each([['router-port'], ['etl-port'], ['log-monitor-port']])(
    'serve with its --%s in use: the port and the flag to change, no stack',
    async (flag) => {
      const dir = tempDir('kpis-cli-serve-');
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      try {
        const ports = ['router-port', 'etl-port', 'kpi-monitor-port', 'log-monitor-port'].flatMap((name) => [
          `--${name}`,
          name === flag ? String(port) : '0',
        ]);
        const run = await kpis(['serve', ...ports, '--warehouse', `duckdb:${path.join(dir, 'w.duckdb')}`], dir, {
          KPIS_LOG_LEVEL: 'ERROR',
        });
        expectOneLine(
          run,
          `kpis serve: port 127.0.0.1:${port} is in use: stop what holds it or pick another with --${flag}`,
        );
      } finally {
        taken.close();
      }
    },
  );
});

describe('kpis publish to a topic the local router does not know', () => {
  test('a typo is an error naming the topics, and nothing is published', async () => {
    const dir = tempDir('kpis-cli-publish-');
    const router = new LocalRouter({
      topicsDir: path.join(dir, 'topics'),
      clock: () => new Date(NOW),
      logger: silentLogger,
      subscriptions: [],
    });
    const url = await router.listen(0);
    try {
      const run = await kpis(['publish', 'daily-kpis-triger', '{}', '--router', url], dir);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.split('\n')[0]).toBe(
        `kpis publish: the local router ${url} has no topic daily-kpis-triger (NOT_FOUND); its topics: daily-kpis-trigger, daily-kpis-completed, daily-kpis-heartbeat, daily-kpis-alerts, daily-kpis-dead-letter`,
      );
      expect(router.published).toEqual([]);
    } finally {
      await router.close();
    }
    // Stopped: the hint names how this command chose the router.
    const refused = await kpis(['publish', 'daily-kpis-trigger', '{}', '--router', url], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `kpis publish: no local router answers at ${url}: start it with \`npm run serve\`, or point --router or KPIS_ROUTER_URL at one that runs\n`,
    );
  });

  test('--router must be http://HOST:PORT', async () => {
    const run = await kpis(
      ['publish', 'daily-kpis-trigger', '{}', '--router', 'notaurl'],
      tempDir('kpis-cli-publish-'),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'kpis publish: --router must be a router URL, http://HOST:PORT such as http://127.0.0.1:8080, got "notaurl"',
    );
  });
});
