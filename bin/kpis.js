#!/usr/bin/env node
// The `kpis` command: runs the compiled CLI (npm install builds it through the prepare script).
let cli;
try {
  ({ cli } = require('../dist/cli/main.js'));
} catch (error) {
  if (error.code !== 'MODULE_NOT_FOUND' || !error.message.startsWith("Cannot find module '../dist/cli/main.js'"))
    throw error;
  process.stderr.write(
    'kpis: the compiled code is missing; run `npm run build` (npm install does it) and try again.\n',
  );
  process.exit(1);
}
cli();
