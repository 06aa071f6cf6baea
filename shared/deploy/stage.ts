/**
 * The folder deploy.sh deploys: the compiled functions and shared code, sql/, config/, and a
 * package.json and lock file whose dependencies are the cloud ones only. Cloud Build then installs
 * no DuckDB, no Vega, no TypeScript, and compiles nothing. The lock file is the project's own,
 * pruned to what those dependencies reach, so the deployed versions are the tested ones.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { ConfigError, LocalResourceError } from '../errors';

/** What runs in the cloud; everything else in package.json (DuckDB, Vega, the CSV parser) is for the local tools. */
export const CLOUD_DEPENDENCIES = [
  '@google-cloud/bigquery',
  '@google-cloud/functions-framework',
  '@google-cloud/pubsub',
  '@google-cloud/secret-manager',
  'google-auth-library',
  'joi',
  'lodash',
];

interface LockPackage {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}

interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockPackage>;
}

/** Where Node would find `name` from the package installed at `from` (a lock path like node_modules/a/node_modules/b). */
function resolveIn(packages: Record<string, LockPackage>, from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/** The lock's entries the given root dependencies reach, the root entry rewritten to list only them. */
export function pruneLock(lock: Lock, dependencies: Record<string, string>): Lock {
  const kept = new Set<string>();
  const visit = (from: string, names: string[], required: boolean): void => {
    for (const name of names) {
      const found = resolveIn(lock.packages, from, name);
      if (found === null) {
        if (required)
          throw new ConfigError(
            `package-lock.json has no ${name} (needed by ${from || 'the project'}): run npm install`,
          );
        continue;
      }
      if (kept.has(found)) continue;
      kept.add(found);
      const entry = lock.packages[found] as LockPackage;
      visit(found, Object.keys(entry.dependencies ?? {}), true);
      // Optional and peer dependencies are installed when the lock has them.
      visit(
        found,
        [...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})],
        false,
      );
    }
  };
  visit('', Object.keys(dependencies), true);
  const root = lock.packages[''] ?? {};
  return {
    name: lock.name,
    version: lock.version,
    lockfileVersion: lock.lockfileVersion,
    requires: true,
    packages: {
      '': { name: root.name, version: root.version, license: root.license, engines: root.engines, dependencies },
      ...Object.fromEntries([...kept].sort().map((key) => [key, lock.packages[key] as LockPackage])),
    },
  };
}

export interface StageResult {
  dir: string;
  dependencies: Record<string, string>;
  packages: number;
}

/** The fields of package.json the staged one keeps or derives. */
interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: unknown;
  dependencies: Record<string, string>;
}

/** The cloud dependencies with the project's version ranges; each must be one of its dependencies. */
function cloudDependencies(manifest: Manifest): Record<string, string> {
  return Object.fromEntries(
    CLOUD_DEPENDENCIES.map((name) => {
      const range = manifest.dependencies[name];
      if (!range) throw new ConfigError(`package.json does not depend on ${name}, which the functions need`);
      return [name, range];
    }),
  );
}

/** The file a staged folder holds so that a later `kpis stage` knows it may empty it. */
export const STAGE_MARKER = '.kpis-stage';

/** `inner` is `outer` or inside it (both resolved through symlinks where they exist). */
function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Why `dir` must not be emptied, or null: only a missing, empty or earlier staged folder may be, and never the project or the current folder. */
export function stageRefusal(root: string, dir: string, cwd: string): string | null {
  if (!existsSync(dir)) return null;
  const real = realpathSync(dir);
  if (isWithin(realpathSync(root), real)) return 'it holds this project';
  if (isWithin(realpathSync(cwd), real)) return 'it is or holds the current folder';
  if (!statSync(real).isDirectory()) return 'it is a file, not a folder';
  const names = readdirSync(real);
  if (names.length === 0 || names.includes(STAGE_MARKER)) return null;
  return `it holds files kpis stage did not write (no ${STAGE_MARKER}): give a new or empty folder`;
}

/** Empties `dir` and copies in what the functions run: the compiled code, the SQL and the configs. */
function copyDeployed(root: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const folder of ['dist/functions', 'dist/shared', 'sql', 'config']) {
    cpSync(path.join(root, folder), path.join(dir, folder), {
      recursive: true,
      filter: (source) => !source.endsWith('.tsbuildinfo'),
    });
  }
}

/** Writes the deployable folder for the project at `root` into `dir`: emptied first if stageRefusal allows it, refused otherwise. */
export function stageFunctions(root: string, dir: string, cwd = process.cwd()): StageResult {
  const refusal = stageRefusal(root, dir, cwd);
  if (refusal !== null) throw new LocalResourceError(`will not empty ${dir}: ${refusal}`);
  const compiled = path.join(root, 'dist', 'functions', 'index.js');
  if (!existsSync(compiled)) throw new ConfigError(`${compiled} is missing: run \`npm run build\` first`);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lock;
  const dependencies = cloudDependencies(manifest);
  copyDeployed(root, dir);
  const staged = {
    name: `${manifest.name}-functions`,
    version: manifest.version,
    private: true,
    description: 'The daily-kpis Cloud Functions, staged by deploy.sh: compiled code and cloud dependencies only.',
    license: manifest.license,
    engines: manifest.engines,
    main: 'dist/functions/index.js',
    dependencies,
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
  const pruned = pruneLock(lock, dependencies);
  pruned.name = staged.name;
  (pruned.packages[''] as LockPackage).name = staged.name;
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(pruned, null, 2)}\n`);
  // Everything but the marker is deployed.
  writeFileSync(
    path.join(dir, '.gcloudignore'),
    `# Staged by deploy.sh: everything here but the marker is deployed.\n${STAGE_MARKER}\n`,
  );
  writeFileSync(
    path.join(dir, STAGE_MARKER),
    'Written by `kpis stage`: a later `kpis stage` into this folder empties it first.\n',
  );
  return { dir, dependencies, packages: Object.keys(pruned.packages).length - 1 };
}
