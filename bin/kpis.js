#!/usr/bin/env node
// The `kpis` command: runs the compiled CLI (npm install builds it through the prepare script).
require('../dist/cli/main.js').cli();
