/**
 * Starting the Pub/Sub emulator when it cannot start: one clear error naming its log, and nothing
 * left running. Stand-in `gcloud` scripts play the failures; the real emulator's start is in
 * test/functions/pubsub-emulator.test.ts.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EmulatorError, startPubSubEmulator } from '../../../shared/local/emulator';
import { tempDir } from '../../helpers/history';

function script(name: string, body: string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Running, as opposed to gone or a zombie waiting for whoever adopted it to reap it. */
function running(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

test('an emulator that exits before listening: the error quotes its log', async () => {
  const gcloud = script(
    'gcloud',
    'echo "ERROR: (gcloud.beta.emulators.pubsub.start) something is missing" >&2; exit 1',
  );
  const started = startPubSubEmulator({ project: 'local-project', gcloud, startTimeoutMs: 30_000 });
  await expect(started).rejects.toThrow(EmulatorError);
  await expect(started).rejects.toThrow(
    /exited with code 1 before listening; its log, \S+emulator\.log:\nERROR: \(gcloud\.beta\.emulators\.pubsub\.start\) something is missing/,
  );
});

test('an emulator that never listens: the error names the deadline and the log, and its whole process group is stopped', async () => {
  // Like gcloud, the script starts a child (Java, there) that would outlive a kill of the script alone.
  const pidFile = path.join(tempDir(), 'child.pid');
  const gcloud = script('gcloud', `sleep 300 & echo $! > ${pidFile}; echo "starting"; wait`);
  await expect(startPubSubEmulator({ project: 'local-project', gcloud, startTimeoutMs: 1_500 })).rejects.toThrow(
    /did not listen on http:\/\/127\.0\.0\.1:\d+ within 1\.5 s; its log, \S+:\nstarting/,
  );
  const child = Number(readFileSync(pidFile, 'utf8'));
  expect(running(child)).toBe(false);
});

test('no gcloud at all: the error says which packages to install', async () => {
  await expect(
    startPubSubEmulator({ project: 'local-project', gcloud: path.join(tempDir(), 'no-such-gcloud') }),
  ).rejects.toThrow(/cannot run gcloud for the Pub\/Sub emulator: .*ENOENT.*google-cloud-cli-pubsub-emulator/);
});
