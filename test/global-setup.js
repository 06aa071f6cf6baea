// The CLI tests run bin/kpis.js, which runs the compiled dist/: build it once before the suite.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = () => {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: path.resolve(__dirname, '..'),
    stdio: 'inherit',
  });
};
