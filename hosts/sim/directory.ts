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
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
 *
 * Race-free between two runs: the lock is made whole (its id written first, then linked in, so it is
 * never seen empty) and a stale one is first moved aside, which only one run can do; a run that moved
 * a live lock instead (made since it read the stale one) puts it back and yields to it.
 */
export function lockDirectory(dir: string): { release: () => void } | { heldBy: number } {
  makeDirectory(dir);
  return lockPath(join(dir, 'lock'));
}

/** The lock of lockDirectory at `path` itself (`decode --state FILE` locks FILE.lock). */
export function lockPath(path: string): { release: () => void } | { heldBy: number } {
  for (let attempt = 0; ; attempt++) {
    if (createLock(path)) {
      return {
        release: () => {
          if (readText(path).trim() === String(process.pid)) unlinkSync(path);
        },
      };
    }
    const holder = liveHolder(readText(path));
    if (holder !== undefined) return { heldBy: holder };
    const taken = removeStaleLock(path);
    if (taken !== undefined) return { heldBy: taken };
    // Each turn removed a stale lock: only a run making stale locks as fast could keep this going.
    if (attempt >= 8) throw Object.assign(new Error(`EEXIST: a stale lock keeps coming back, open '${path}'`), { code: 'EEXIST', syscall: 'open', path });
  }
}

/** Links a file holding this process's id in as `path`; false when a lock is there. */
function createLock(path: string): boolean {
  const mine = `${path}.${process.pid}.new`;
  writeFileSync(mine, `${process.pid}\n`);
  try {
    linkSync(mine, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    unlinkSync(mine);
  }
}

/**
 * Moves the lock at `path` aside and looks at what was moved: a stale lock is removed (undefined); a
 * live run's lock (it replaced the stale one after this run read it) is put back, and its holder
 * returned. Exported for tests, which stand in for the run that got there first.
 */
export function removeStaleLock(path: string): number | undefined {
  const aside = `${path}.${process.pid}.old`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // another run removed it
    throw e;
  }
  const holder = liveHolder(readText(aside));
  try {
    if (holder !== undefined) linkSync(aside, path); // (EEXIST: a third run's lock is there already)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(aside);
  }
  return holder;
}

/** The live process (not this one) a lock's text names, if any. */
function liveHolder(text: string): number | undefined {
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid) ? pid : undefined;
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
