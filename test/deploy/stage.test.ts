/**
 * The staged folder deploy.sh deploys: cloud dependencies only, a lock file pruned from the
 * project's, and functions that run from it without DuckDB or Vega. The staged code runs in a
 * child process whose node_modules holds only the lock file's packages, against the BigQuery REST
 * fake.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLOUD_DEPENDENCIES, pruneLock, STAGE_MARKER, stageFunctions } from '../../shared/deploy/stage';
import { BigQueryFake } from '../fakes/bigquery-fake';
import { tempDir } from '../helpers/history';

const ROOT = path.resolve(__dirname, '../..');
const rootLock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};

test('the staged package.json and lock file hold the cloud dependencies and what they reach, nothing local', () => {
  const dir = path.join(tempDir('kpis-stage-'), 'functions');
  const result = stageFunctions(ROOT, dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    main: string;
    dependencies: Record<string, string>;
    scripts?: unknown;
    devDependencies?: unknown;
  };
  expect(Object.keys(manifest.dependencies)).toEqual(CLOUD_DEPENDENCIES);
  expect(manifest.main).toBe('dist/functions/index.js');
  // No build step for Cloud Build: the code is compiled already.
  expect(manifest.scripts).toBeUndefined();
  expect(manifest.devDependencies).toBeUndefined();
  const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  const installed = Object.keys(lock.packages).filter((key) => key !== '');
  expect(installed.length).toBe(result.packages);
  for (const key of installed) expect(lock.packages[key]).toEqual(rootLock.packages[key]);
  for (const local of ['@duckdb/node-api', 'vega', 'vega-lite', 'typescript', 'jest', 'csv-parse'])
    expect(installed).not.toContain(`node_modules/${local}`);
  expect(installed.some((key) => rootLock.packages[key]?.dev)).toBe(false);
  expect(installed).toEqual(expect.arrayContaining(CLOUD_DEPENDENCIES.map((name) => `node_modules/${name}`)));
});

/** A project folder stageFunctions can stage from: the real manifest and lock, and empty compiled folders. */
function fakeProject(): { base: string; root: string } {
  const base = tempDir('kpis-stage-guard-');
  const root = path.join(base, 'project');
  for (const folder of ['dist/functions', 'dist/shared', 'sql', 'config', '.git'])
    mkdirSync(path.join(root, folder), { recursive: true });
  writeFileSync(path.join(root, 'dist/functions/index.js'), '');
  writeFileSync(path.join(root, 'README.md'), 'mine');
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(ROOT, file), path.join(root, file));
  return { base, root };
}

describe('stage empties only a folder it may: missing, empty, or staged before', () => {
  test.each([
    ['the project folder', (root: string) => root, 'it holds this project'],
    ['a folder holding the project', (root: string) => path.dirname(root), 'it holds this project'],
    ['the project folder by a relative path', (root: string) => path.join(root, 'dist', '..'), 'it holds this project'],
  ])('%s is refused and left whole', (_name, target, why) => {
    const { root } = fakeProject();
    const dir = target(root);
    expect(() => stageFunctions(root, dir, tempDir())).toThrow(`will not empty ${dir}: ${why}`);
    expect(readdirSync(root).sort()).toEqual([
      '.git',
      'README.md',
      'config',
      'dist',
      'package-lock.json',
      'package.json',
      'sql',
    ]);
  });

  test('a folder holding files of its own is refused and keeps them; so is the current folder and a file', () => {
    const { base, root } = fakeProject();
    const mine = path.join(base, 'mine');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'important.txt'), 'keep me');
    expect(() => stageFunctions(root, mine)).toThrow(
      `will not empty ${mine}: it holds files kpis stage did not write (no ${STAGE_MARKER})`,
    );
    expect(readFileSync(path.join(mine, 'important.txt'), 'utf8')).toBe('keep me');
    expect(() => stageFunctions(root, mine, path.join(mine))).toThrow(
      `will not empty ${mine}: it is or holds the current folder`,
    );
    const file = path.join(mine, 'important.txt');
    expect(() => stageFunctions(root, file)).toThrow(`will not empty ${file}: it is a file, not a folder`);
    expect(existsSync(file)).toBe(true);
  });

  test('a new folder, an empty one, and a folder staged before are (re)staged', () => {
    const { base, root } = fakeProject();
    const empty = path.join(base, 'empty');
    mkdirSync(empty);
    for (const dir of [path.join(base, 'new', 'functions'), empty]) {
      stageFunctions(root, dir);
      expect(existsSync(path.join(dir, STAGE_MARKER))).toBe(true);
      writeFileSync(path.join(dir, 'left-over.txt'), 'from an older stage');
      stageFunctions(root, dir);
      expect(existsSync(path.join(dir, 'left-over.txt'))).toBe(false);
    }
    // The marker stays out of the upload.
    expect(readFileSync(path.join(empty, '.gcloudignore'), 'utf8').split('\n')).toContain(STAGE_MARKER);
  });
});

test('pruning follows Node resolution: a nested version wins over the top-level one', () => {
  const lock = {
    name: 'p',
    version: '1.0.0',
    lockfileVersion: 3,
    packages: {
      '': { name: 'p', version: '1.0.0', dependencies: { a: '^1', local: '^1' } },
      'node_modules/a': { version: '1.0.0', dependencies: { b: '^2' } },
      'node_modules/a/node_modules/b': { version: '2.0.0' },
      'node_modules/b': { version: '1.0.0' },
      'node_modules/local': { version: '1.0.0', dependencies: { b: '^1' } },
    },
  };
  expect(Object.keys(pruneLock(lock, { a: '^1' }).packages)).toEqual([
    '',
    'node_modules/a',
    'node_modules/a/node_modules/b',
  ]);
  expect(() => pruneLock(lock, { missing: '^1' })).toThrow('package-lock.json has no missing');
});

describe('the staged functions run without the local packages', () => {
  let fake: BigQueryFake;
  beforeAll(async () => {
    fake = await new BigQueryFake().start();
  });
  afterAll(() => fake.stop());

  test("each target loads from the staged folder alone, and log-monitor's first event runs on BigQuery", async () => {
    const base = tempDir('kpis-stage-run-');
    const dir = path.join(base, 'functions');
    stageFunctions(ROOT, dir);
    // The lock file's top-level packages, and nothing else, where Node looks for them from the staged code.
    const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    mkdirSync(path.join(dir, 'node_modules', '@google-cloud'), { recursive: true });
    for (const key of Object.keys(lock.packages).filter((k) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(k))) {
      const target = path.join(dir, key);
      mkdirSync(path.dirname(target), { recursive: true });
      symlinkSync(path.join(ROOT, key), target, 'dir');
    }
    const child = path.join(base, 'child.js');
    writeFileSync(
      child,
      `
const [dir, target] = process.argv.slice(2);
const out = { duckdb: false, vega: false };
for (const [name, key] of [['@duckdb/node-api', 'duckdb'], ['vega', 'vega']]) { try { require.resolve(name, { paths: [dir + '/dist/shared'] }); out[key] = true; } catch {} }
require(dir + '/dist/functions/index.js');
if (target !== 'logMonitor') { process.stdout.write(JSON.stringify(out)); return; }
const { getTestServer } = require(dir + '/node_modules/@google-cloud/functions-framework/build/src/testing.js');
const server = getTestServer(target);
server.listen(0, '127.0.0.1', async () => {
  const now = new Date().toISOString();
  const body = JSON.stringify({ message: { data: Buffer.from('{}').toString('base64'), attributes: {}, messageId: 'staged-1', publishTime: now }, subscription: 'projects/p/subscriptions/s' });
  const headers = { 'content-type': 'application/json', 'ce-id': 'staged-1', 'ce-specversion': '1.0', 'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished', 'ce-source': '//pubsub.googleapis.com/projects/p/topics/daily-kpis-heartbeat', 'ce-time': now };
  const response = await fetch('http://127.0.0.1:' + server.address().port, { method: 'POST', headers, body });
  out.status = response.status;
  process.stdout.write(JSON.stringify(out));
  server.close();
});
`,
    );
    const run = (target: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env = {
          PATH: process.env.PATH,
          FUNCTION_TARGET: target,
          KPIS_WAREHOUSE: 'bigquery:demo-project',
          KPIS_BQ_API_ENDPOINT: fake.url,
          KPIS_PUBLISHER: 'local',
          KPIS_TOPICS_DIR: path.join(base, 'topics'),
          KPIS_LOG_LEVEL: 'ERROR',
          METADATA_SERVER_DETECTION: 'none',
        };
        execFile(process.execPath, [child, dir, target], { env, cwd: base }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    for (const target of ['etl', 'kpiMonitor']) {
      const loaded = await run(target);
      expect(loaded.stderr).toBe('');
      expect(JSON.parse(loaded.stdout)).toEqual({ duckdb: false, vega: false });
    }
    const first = await run('logMonitor');
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toEqual({ duckdb: false, vega: false, status: 204 });
    // It ran on the fake: it ensured the run log and read it.
    expect(fake.jobInserts().some((insert) => JSON.stringify(insert.body).includes('daily_logs'))).toBe(true);
  });
});
