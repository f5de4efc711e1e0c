/**
 * The published test vectors kept in test/vectors (see its README for the sources), found from the
 * repository root rather than the working directory.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'vectors');

/** Parses test/vectors/NAME (e.g. 'crypto.json'). */
export function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
}
