/**
 * Creates the directories a user names (`sim --state DIR`, the bench's `--state DIR`, `log demo
 * --out DIR`) and the ones below them.
 *
 * Not `mkdirSync(dir, { recursive: true })`: Node's own walk (v20 here) spins for ever at 100 % CPU,
 * deaf to SIGTERM, when a parent exists but cannot hold the child, as under /proc: mkdir(child)
 * answers ENOENT, mkdir(parent) EEXIST, and it tries the child again. Here a child that is still
 * not found once its parent is there is the answer: Node's error of that mkdir (code, syscall and
 * path, which the CLI turns into one line).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export function makeDirectory(path: string): void {
  try {
    mkdirSync(path);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(path)) return;
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
