/** JSON state files of the simulator, written so that a kill at any moment never leaves half a file. */
import { renameSync, writeFileSync } from 'node:fs';

export function writeJson(path: string, value: unknown): void {
  const tmp = path + '.tmp';
  writeFileSync(tmp, JSON.stringify(value, null, 1));
  renameSync(tmp, path);
}
