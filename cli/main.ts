/**
 * `kpis`: the command line of daily-kpis. This file only dispatches: each command is a file of its
 * own under cli/commands/, which parses its flags, opens the runtime and calls one use-case from
 * shared/. Exit codes: 0 done, 1 failed, 2 bad flags, dates or config, or a file, folder or port in the way.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  asLocalResourceError,
  ConfigError,
  KpisError,
  LocalResourceError,
  TableNotFoundError,
  UsageError,
} from '../shared/errors';
import { escapeControls } from '../shared/format';
import { COMMON, COMMON_HELP, type Command } from './command';
import type { Io } from './context';
import type { Values } from './command';
import { calendarCommand } from './commands/calendar';
import { etlCommand } from './commands/etl';
import { initCommand } from './commands/init';
import { loadEventsCommand } from './commands/load-events';
import { migrateRunLogCommand } from './commands/migrate-run-log';
import { monitorCommand } from './commands/monitor';
import { monitorLogsCommand } from './commands/monitor-logs';
import { publishCommand } from './commands/publish';
import { reportCommand } from './commands/report';
import { schemaCommand } from './commands/schema';
import { seedDemoCommand } from './commands/seed-demo';
import { serveCommand } from './commands/serve';
import { stageCommand } from './commands/stage';
import { startCommand } from './commands/start';
import { timeZoneCommand } from './commands/time-zone';
import { validateCommand } from './commands/validate';

/** Every command, in the order `kpis --help` lists them. */
const COMMANDS: Record<string, Command> = {
  start: startCommand,
  etl: etlCommand,
  'load-events': loadEventsCommand,
  'seed-demo': seedDemoCommand,
  init: initCommand,
  monitor: monitorCommand,
  'monitor-logs': monitorLogsCommand,
  calendar: calendarCommand,
  report: reportCommand,
  'migrate-run-log': migrateRunLogCommand,
  stage: stageCommand,
  'time-zone': timeZoneCommand,
  schema: schemaCommand,
  validate: validateCommand,
  serve: serveCommand,
  publish: publishCommand,
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `kpis: daily product KPIs on BigQuery or an embedded DuckDB warehouse

Usage: kpis COMMAND [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}   ${command.summary}`)
  .join('\n')}

Run \`kpis COMMAND --help\` for a command's options; \`kpis --version\` prints the version.
${COMMON_HELP}
`;
}

function commandHelp(name: string, command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.\n${command.details}\n\n${COMMON_HELP}\n`;
}

/**
 * The io with every control and bidi character shown as `\uXXXX` (README: escaping): a name from
 * the warehouse cannot move, retitle or recolour the terminal it is printed on (ESC, OSC, BEL) or
 * reverse a line (U+202E). --json output stays valid JSON with the same values: JSON.stringify
 * escapes C0 itself, and `\uXXXX` is JSON's own escape for the rest.
 */
function terminalSafe(io: Io): Io {
  return {
    ...io,
    stdout: (text) => io.stdout(escapeControls(text)),
    stderr: (text) => io.stderr(escapeControls(text)),
  };
}

/** The version in the project's package.json (two folders up from dist/cli, one from cli/). */
function packageVersion(): string {
  const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Runs one command line and returns the exit code; never calls process.exit. */
export async function run(argv: string[], rawIo: Io): Promise<number> {
  const io = terminalSafe(rawIo);
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`kpis ${packageVersion()}\n`);
    return 0;
  }
  // Own names only: `kpis constructor` is an unknown command, not Object's constructor.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr(`kpis: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    const parsed = parseCommandLine(name, command, rest);
    if (parsed.values.help) {
      io.stdout(commandHelp(name, command));
      return 0;
    }
    return await command.run(parsed.values as Values, parsed.positionals, io);
  } catch (error) {
    return reportFailure(io, name, error);
  }
}

/** The command's flags and positionals, checked against what it declares. */
function parseCommandLine(name: string, command: Command, rest: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...COMMON, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values.help) return parsed;
  const expected = command.positionals ?? { min: 0, max: 0, name: '' };
  if (parsed.positionals.length > expected.max)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[expected.max])}`);
  if (parsed.positionals.length < expected.min) throw new UsageError(`${name} takes ${expected.name}`);
  return parsed;
}

/** Exit code 2 for a usage or config error (with where to read the usage) or a local file, folder or port in the way (one line), 1 for a failure. */
function reportFailure(io: Io, name: string, thrown: unknown): number {
  // A file or port in the way (ENOTDIR, EADDRINUSE...) is said in one line, not with a stack.
  const error = asLocalResourceError(thrown);
  if (error instanceof UsageError || error instanceof ConfigError) {
    io.stderr(`kpis ${name}: ${error.message}\nRun \`kpis ${name} --help\` for usage.\n`);
    return 2;
  }
  if (error instanceof LocalResourceError) {
    io.stderr(`kpis ${name}: ${error.message}\n`);
    return 2;
  }
  const message = error instanceof KpisError ? error.message : ((error as Error).stack ?? String(error));
  // The monitors read what the ETL writes: on a fresh warehouse, say what to run first.
  const hint =
    name.startsWith('monitor') && error instanceof TableNotFoundError
      ? '\nThe KPI tables are not built yet: run `kpis etl` (or `npm start`) first.'
      : '';
  io.stderr(`kpis ${name}: ${message}${hint}\n`);
  return 1;
}

/** The entry point of bin/kpis.js. */
export function cli(): void {
  // A reader that stops early (`kpis monitor | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const io: Io = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`kpis: ${escapeControls(String(error))}\n`);
      process.exitCode = 1;
    },
  );
}
