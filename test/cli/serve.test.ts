/** `kpis serve`'s banner, as a user reads it: the settings in use, and a publish command that reaches this router. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BIN, runKpis } from '../helpers/cli';
import { tempDir } from '../helpers/history';

const NOW = '2026-11-27T06:00:00Z';

async function waitFor(condition: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('with KPIS_TOPICS_DIR and another router port: the banner names that folder, and its publish command reaches this router', async () => {
  const dir = tempDir('kpis-cli-serve-banner-');
  const topicsDir = path.join(dir, 'elsewhere');
  const ports = ['router-port', 'etl-port', 'kpi-monitor-port', 'log-monitor-port'].flatMap((flag) => [
    `--${flag}`,
    '0',
  ]);
  const child = spawn(
    process.execPath,
    [BIN, 'serve', ...ports, '--warehouse', `duckdb:${path.join(dir, 'w.duckdb')}`],
    {
      cwd: dir,
      env: {
        ...process.env,
        KPIS_NOW: NOW,
        KPIS_WAREHOUSE: '',
        KPIS_LOG_LEVEL: 'ERROR',
        KPIS_TOPICS_DIR: topicsDir,
        KPIS_ROUTER_URL: '',
      },
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await waitFor(() => stdout.includes('Stop with Ctrl-C.'));
    const router = /router\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] as string;
    expect(stdout).toContain(`${router}  (messages also go to ${topicsDir}/<topic>.jsonl)`);
    const command = `  npx kpis publish daily-kpis-trigger '{"days_back":1}' --router ${router}`;
    expect(stdout.split('\n')).toContain(command);
    // The command as printed, run as a user would.
    const published = await runKpis(['publish', 'daily-kpis-trigger', '{"days_back":1}', '--router', router], dir, NOW);
    expect(published.code).toBe(0);
    expect(existsSync(path.join(topicsDir, 'daily-kpis-trigger.jsonl'))).toBe(true);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
