/** The `kpis` command as a user runs it: bin/kpis.js in a child process, with a pinned clock. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/kpis.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kpis ARGS` in `cwd` at `now` (KPIS_NOW), with no warehouse from the environment unless `env` gives one. */
export function runKpis(args: string[], cwd: string, now: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, KPIS_NOW: now, KPIS_WAREHOUSE: '', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
