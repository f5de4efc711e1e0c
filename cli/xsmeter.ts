/**
 * The `xsmeter` binary: runs the dispatcher on this process's arguments and streams, and turns what
 * the process meets from outside into the run's stop signal (CliIo.signal):
 * - SIGINT / SIGTERM: the command stops at its next safe point (sim saves its state, the bench puts
 *   the meter back as found); a second signal ends the process at once, exit 130.
 * - stdout closed by its reader (EPIPE, `xsmeter sim | head`): output is dropped from then on, the
 *   command stops as for a signal, and the process exits quietly with the command's code.
 * - stdout failing otherwise (a full disk, /dev/full): the same stop, one line, and exit 1 at
 *   least (the output is lost).
 * Anything else escaping a command is a bug: "internal error" with the stack, exit 70.
 */
import { escapeControls, stdoutFailure, type CliIo } from './command.js';
import { main } from './main.js';

const stop = new AbortController();
let stdoutOpen = true;
let stdoutFailed = false;

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (!stdoutOpen) return;
  stdoutOpen = false;
  if (e.code !== 'EPIPE') {
    stdoutFailed = true;
    if (process.exitCode !== undefined) process.exitCode = Math.max(Number(process.exitCode), 1); // (the command ended first)
    const name = process.argv[2];
    process.stderr.write(`xsmeter${name && !name.startsWith('-') ? ` ${escapeControls(name)}` : ''}: ${escapeControls(stdoutFailure(e))}\n`);
  }
  stop.abort('EPIPE');
});
// Nothing useful can be said when stderr itself is gone.
process.stderr.on('error', () => undefined);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stop.signal.aborted && stop.signal.reason !== 'EPIPE') {
      process.stderr.write(`xsmeter: ${sig} again: stopped at once\n`);
      process.exit(130);
    }
    stop.abort(sig);
  });
}

const io: CliIo = {
  stdin: process.stdin,
  stdout: (t) => {
    if (stdoutOpen) process.stdout.write(t);
  },
  stdoutBytes: (b) => {
    if (stdoutOpen) process.stdout.write(b);
  },
  stderr: (t) => {
    process.stderr.write(t);
  },
  stdoutWritten: (t) =>
    new Promise((resolve) => {
      if (!stdoutOpen) resolve(false);
      else process.stdout.write(t, (e) => resolve(!e));
    }),
  signal: stop.signal,
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = stdoutFailed ? Math.max(code, 1) : code;
    // A command that stopped early may leave stdin half read: it must not keep the process alive.
    process.stdin.destroy();
  },
  (e: unknown) => {
    process.stderr.write(`xsmeter: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
    process.stdin.destroy();
  },
);
