/** The `xsmeter` dispatcher: one subcommand per file in cli/commands/, listed below. */
import type { CliIo, Command } from './command.js';
import { CliError } from './command.js';
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

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'usage: xsmeter <command> [options]   (xsmeter <command> --help for its options)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`xsmeter: unknown command "${name}" (try xsmeter --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.stderr(`xsmeter ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof MeterError) {
      io.stderr(`xsmeter ${name}: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
