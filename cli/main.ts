/** The `xsmeter` dispatcher: one subcommand per file in cli/commands/, listed below, and the one place
 *  where failures become a one-line message and an exit code (see command.ts). */
import { readFileSync } from 'node:fs';
import type { CliIo, Command } from './command.js';
import { CliError, describeSystemError, escapeControls, isSystemError } from './command.js';
import { MeterError } from '../modules/core/errors.js';
import { decode } from './commands/decode.js';
import { encode } from './commands/encode.js';
import { log } from './commands/log.js';
import { sim } from './commands/sim.js';
import { bench } from './commands/bench.js';
import { sml } from './commands/sml.js';

// Each subcommand registers here, one line each.
const commands: Command[] = [
  encode,
  decode,
  log,
  sim,
  bench,
  sml,
];

/** The package version (package.json is one level up from both cli/ and the bundle in dist/). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'usage: xsmeter <command> [options]   (xsmeter <command> --help for its options)',
    '       xsmeter --version',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 the work failed (a frame rejected, a log that does not verify, a calibration',
    'that failed), 2 bad usage or unusable input files',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout(`xsmeter ${version()}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.stdout : io.stderr)(usage());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`xsmeter: unknown command "${escapeControls(name)}" (try xsmeter --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  // Alone after a command: `encode --version 2` is encode's own option (the A field's version).
  if (rest.length === 1 && rest[0] === '--version') {
    io.stdout(`xsmeter ${version()}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    const f = failure(e);
    if (!f) throw e;
    // (Messages echo values as given: a newline in one must not make two lines.)
    io.stderr(`xsmeter ${name}: ${escapeControls(f.message)}\n`);
    return f.exitCode;
  }
}

/** The one-line message and exit code of an expected failure; undefined for a bug. */
function failure(e: unknown): { message: string; exitCode: 1 | 2 } | undefined {
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
  if (e instanceof MeterError) return { message: `${e.code}: ${e.message}`, exitCode: 1 };
  if (isSystemError(e)) return describeSystemError(e);
  return undefined;
}
