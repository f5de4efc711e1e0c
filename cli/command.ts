/** What every `xsmeter` subcommand is: a name, a one-line summary, its help text and a runner. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Returns the process exit code: 0 on success. Throw a CliError for a one-line failure. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A failure the CLI reports as one line and a non-zero exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parses `args` strictly against `options`; an unknown or malformed option is a one-line CliError. */
export function parseOptions<const O extends OptionsConfig, const P extends boolean = false>(
  args: string[],
  options: O,
  exitCode: number,
  allowPositionals?: P,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: (allowPositionals ?? false) as P });
  } catch (e) {
    throw new CliError((e as Error).message, exitCode);
  }
}
