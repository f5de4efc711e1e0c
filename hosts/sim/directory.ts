/**
 * Creates the directories a user names (`sim --state DIR`, the bench's `--state DIR`, `log demo
 * --out DIR`) and the ones below them, and locks a state directory for one run at a time.
 *
 * Not `mkdirSync(dir, { recursive: true })`: Node's own walk (v20 here) spins for ever at 100 % CPU,
 * deaf to SIGTERM, when a parent exists but cannot hold the child, as under /proc: mkdir(child)
 * answers ENOENT, mkdir(parent) EEXIST, and it tries the child again. Here a child that is still
 * not found once its parent is there is the answer: Node's error of that mkdir (code, syscall and
 * path, which the CLI turns into one line).
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function makeDirectory(path: string): void {
  try {
    mkdirSync(path);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (isDirectory(path)) return;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', syscall: 'mkdir', path });
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw e;
    makeDirectory(parent);
  }
  mkdirSync(path);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Makes `dir` this process's until `release()`: DIR/lock holds the process id. Two runs on one
 * state would send the same message counters. A lock whose process is gone (a kill -9) is taken
 * over. Returns the holder's process id instead when another live process has it.
 */
export function lockDirectory(dir: string): { release: () => void } | { heldBy: number } {
  makeDirectory(dir);
  const path = join(dir, 'lock');
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = Number(readText(path).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) return { heldBy: holder };
      unlinkSync(path);
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      release: () => {
        if (readText(path).trim() === String(process.pid)) unlinkSync(path);
      },
    };
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
