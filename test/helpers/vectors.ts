/**
 * The published test vectors in ../shared/vectors (beside the repository, as CI and every developer
 * machine have it), found from the repository root rather than the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = process.env.XSMETER_VECTORS ?? join(root, '..', 'shared', 'vectors');

/** Parses ../shared/vectors/NAME (e.g. 'crypto.json'); a missing file is a clear failure. */
export function readVectors<T>(name: string): T {
  const file = join(dir, name);
  if (!existsSync(file)) {
    throw new Error(`test vectors not found at ${file}: shared/ must sit beside the repository (or set XSMETER_VECTORS)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
