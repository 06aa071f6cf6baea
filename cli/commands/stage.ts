/** `kpis stage`: the folder deploy.sh deploys. */
import path from 'node:path';
import { CLOUD_DEPENDENCIES, STAGE_MARKER, stageFunctions } from '../../shared/deploy/stage';
import { printJson, type Command } from '../command';

export const stageCommand: Command = {
  summary: 'write the folder deploy.sh deploys: compiled functions, sql/, config/, cloud dependencies only',
  usage: 'kpis stage DIR [--json]',
  details: `Empties DIR (only a new or empty folder, or one an earlier \`kpis stage\` wrote: it holds ${STAGE_MARKER}) and writes the compiled functions and shared code, sql/ and config/, with a
package.json and package-lock.json whose dependencies are the cloud ones only (${CLOUD_DEPENDENCIES.join(', ')}),
pruned from this project's lock file: Cloud Build installs no DuckDB and compiles nothing.`,
  options: {},
  positionals: { min: 1, max: 1, name: 'one DIR' },
  run(values, positionals, io) {
    const result = stageFunctions(path.resolve(__dirname, '../../..'), path.resolve(positionals[0] as string));
    if (values.json) printJson(io, result);
    else
      io.stdout(
        `Staged the functions in ${result.dir}: ${Object.keys(result.dependencies).length} dependencies, ${result.packages} packages in the lock file.\n`,
      );
    return Promise.resolve(0);
  },
};
