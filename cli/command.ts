/**
 * What every `xsmeter` subcommand is (a name, a one-line summary, its help text and a runner), the
 * streams it gets, and the one way a command fails: a `CliError` with a one-line message and an exit
 * code. Exit codes are the same in every command:
 *
 *   0  ok
 *   1  the work failed: a frame rejected, a log that does not verify, a calibration that failed or
 *      was interrupted, a meter that does not answer
 *   2  bad usage or unusable input: an unknown or malformed option, a file that cannot be read or
 *      written, a state or key file that is not what it should be, a key that is not the device's
 *
 * Node's file-system errors and JSON syntax errors need no handling in a command: the dispatcher
 * (main.ts) turns them into one line naming the path and the reason (`describeSystemError`), exit 2.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { concatAll } from '../modules/core/bytes.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: (text: string) => void;
  /** Raw bytes to stdout (e.g. `xsmeter sim --sml -`); absent where the caller only takes text. */
  stdoutBytes?: (bytes: Uint8Array) => void;
  stderr: (text: string) => void;
  /**
   * stdout(text), resolving once the text was handed to the system (true) or could not be (false: a
   * full disk, a reader gone). Absent where stdout cannot fail (tests that call main()).
   */
  stdoutWritten?: (text: string) => Promise<boolean>;
  /**
   * Aborted when the run should end early: SIGINT or SIGTERM (reason 'SIGINT' / 'SIGTERM'), or the
   * reader of stdout went away (reason 'EPIPE', as in `xsmeter sim | head`; stdout then drops what is
   * written). Long-running commands stop at the next safe point; absent in tests that call main().
   */
  signal?: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Returns the process exit code (0, or 1 when the work failed). Throw a CliError for a one-line failure. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A failure the CLI reports as one line: exit code 1 (the work failed) or 2 (bad usage or input). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with its control characters (C0, DEL, C1) and the Unicode line and paragraph separators
 * written as JSON writes them (`\n`, `\u001b`): a value a message echoes (an option, a path, a field
 * of a file) then keeps the message on one line, and cannot send a terminal escape sequences.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Bad usage or an unusable input file: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}

/**
 * Parses `args` strictly against `options`; an unknown or malformed option is a one-line usage error,
 * and so is a valued option given twice that does not take several (`--meters 3 --meters 4`: parseArgs
 * keeps the last and the first would be ignored without a word).
 */
export function parseOptions<const O extends OptionsConfig, const P extends boolean = false>(args: string[], options: O, allowPositionals?: P) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: (allowPositionals ?? false) as P, tokens: true });
  } catch (e) {
    // parseArgs explains over several lines; the CLI says it in one.
    throw usageError((e as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const given = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || t.value === undefined || options[t.name]?.multiple) continue;
    given.set(t.name, [...(given.get(t.name) ?? []), t.value]);
  }
  for (const [name, values] of given) {
    if (values.length > 1) throw usageError(`--${name} given ${values.length === 2 ? 'twice' : `${values.length} times`} (${values.map((v) => JSON.stringify(v)).join(', ')}): give it once`);
  }
  const { tokens: _, ...result } = parsed;
  return result;
}

/** A signal that never aborts, for runs without one. */
export function stopSignal(io: CliIo): AbortSignal {
  return io.signal ?? new AbortController().signal;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

const VERBS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create directory',
  rename: 'rename to',
  unlink: 'remove',
  scandir: 'list',
  stat: 'read',
  lstat: 'read',
};

/** Node's error for a failed system call: errno code, syscall and path. */
type SystemError = NodeJS.ErrnoException & { code: string; syscall: string; dest?: string };

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * One line for a failed file operation, e.g. "cannot open /tmp/x/report.html: no such file or
 * directory", and its exit code: 2 when the path is unusable, 1 when the device failed (full, I/O).
 */
export function describeSystemError(e: SystemError): { message: string; exitCode: 1 | 2 } {
  const where = e.dest ? `${e.path ?? ''} to ${e.dest}` : (e.path ?? '');
  const reason = REASONS[e.code] ?? e.code;
  const verb = e.dest ? 'rename' : (VERBS[e.syscall] ?? e.syscall);
  return {
    message: where ? `cannot ${verb} ${where}: ${reason}` : `${e.syscall} failed: ${reason}`,
    exitCode: e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'EIO' ? 1 : 2,
  };
}

/** Refuses a directory as stdin (`decode < /tmp`): Node reads one as an empty input. */
export function checkStdin(io: CliIo): void {
  if ((io.stdin as { fd?: number }).fd !== 0) return;
  let directory = false;
  try {
    directory = fstatSync(0).isDirectory();
  } catch {
    return; // (no stdin to look at: a closed descriptor reads as empty)
  }
  if (directory) throw usageError('stdin is a directory');
}

/** A whole number written in decimal digits (what every count and id option takes), else NaN:
 *  `Number()` alone would also take "", "0x10" and "1e3". */
export function decimalInteger(text: string | undefined): number {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
}

/** The largest input file read whole (key, state, log and frame files are far smaller); a device
 *  such as /dev/zero would otherwise be read for ever. */
export const MAX_INPUT_FILE = 64 * 1024 * 1024;

/** Reads a whole file; a failure names the path (Node's read error for a directory carries none). */
export function readInputFile(path: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(Math.min(1 << 20, MAX_INPUT_FILE + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_INPUT_FILE) throw usageError(`${path}: more than ${MAX_INPUT_FILE / 1024 / 1024} MiB: not an input file`);
    }
    return concatAll(chunks);
  } catch (e) {
    if (isSystemError(e) && e.path === undefined) throw new CliError(`cannot read ${path}: ${REASONS[e.code] ?? e.code}`, describeSystemError(e).exitCode);
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** "cannot write stdout: REASON" for a failed write to stdout (not a closed pipe, which ends quietly). */
export function stdoutFailure(e: NodeJS.ErrnoException): string {
  return `cannot write stdout: ${systemReason(e)}`;
}

/** A failed system call's reason in words ("no space left on device"). */
export function systemReason(e: NodeJS.ErrnoException): string {
  return (e.code && REASONS[e.code]) ?? e.message;
}

/** Reads and parses a JSON file; a file that is not JSON is a usage error naming the path. */
export function readJsonFile(path: string): unknown {
  const text = new TextDecoder().decode(readInputFile(path));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usageError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Checks that `path` can be written as a file, before any work that would be lost if it cannot: it
 * is opened for appending (which fails for a directory, a missing directory, no permission, a
 * read-only file system) and left as it was. Failure: a usage error "WHAT PATH: cannot … : reason".
 */
export function checkWritableFile(path: string, what: string): void {
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
    if (!existed) unlinkSync(path);
  } catch (e) {
    if (!isSystemError(e)) throw e;
    throw usageError(`${what} ${path}: cannot write: ${REASONS[e.code] ?? e.code}`);
  }
}
