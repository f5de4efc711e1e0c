import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '../hosts/sim/directory.js';

describe('makeDirectory (the directories --state and --out name)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'xsmeter-dir-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const code = (f: () => void): string | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };

  it('makes every missing level; a directory already there is fine', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectory(deep);
    assert.ok(statSync(deep).isDirectory());
    makeDirectory(deep);
    makeDirectory(join(dir, 'a', '..', 'a', 'b'));
    assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  });

  it('a file in the way: ENOTDIR for the file itself and below it; nothing made', () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    assert.equal(code(() => makeDirectory(file)), 'ENOTDIR');
    assert.equal(code(() => makeDirectory(join(file, 'sub', 'deeper'))), 'ENOTDIR');
    assert.ok(statSync(file).isFile());
  });

  it('a dangling symbolic link in the path: ENOTDIR, not a directory made elsewhere', () => {
    const link = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), link);
    assert.equal(code(() => makeDirectory(join(link, 'sub'))), 'ENOTDIR');
    assert.equal(code(() => makeDirectory(link)), 'ENOTDIR');
    assert.equal(existsSync(join(dir, 'nowhere')), false);
  });

  it('under /proc, where the child is never found but the parent is there: ENOENT, at once', function () {
    if (!existsSync('/proc/self')) this.skip();
    // Node's mkdirSync(…, { recursive: true }) spins here for ever; this returns.
    const e = (() => {
      try {
        makeDirectory('/proc/xsmeter-test/a/b');
      } catch (err) {
        return err as NodeJS.ErrnoException;
      }
      return undefined;
    })();
    assert.equal(e?.code, 'ENOENT');
    assert.equal(e?.syscall, 'mkdir');
    assert.equal(e?.path, '/proc/xsmeter-test');
  });
});
