import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDirectory, makeDirectory, removeStaleLock } from '../hosts/sim/directory.js';

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

describe('lockDirectory (one run at a time on a --state directory)', () => {
  let dir: string;
  let other: ChildProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xsmeter-lock-'));
    // A live process that is not this one: the run that holds a lock.
    other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((resolve) => other.once('spawn', resolve));
  });
  after(() => {
    other.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const gonePid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

  it('holds DIR/lock with its id, refuses while a live process holds it, takes over a lock of a process gone', () => {
    const state = join(dir, 'a');
    const lock = lockDirectory(state);
    assert.ok('release' in lock);
    assert.equal(readFileSync(join(state, 'lock'), 'utf8'), `${process.pid}\n`);
    lock.release();
    assert.equal(existsSync(join(state, 'lock')), false);
    writeFileSync(join(state, 'lock'), `${other.pid}\n`);
    assert.deepEqual(lockDirectory(state), { heldBy: other.pid });
    assert.equal(readFileSync(join(state, 'lock'), 'utf8'), `${other.pid}\n`, 'left as it was');
    for (const stale of [`${gonePid()}\n`, '', 'not a pid']) {
      writeFileSync(join(state, 'lock'), stale);
      const again = lockDirectory(state);
      assert.ok('release' in again, JSON.stringify(stale));
      assert.equal(readFileSync(join(state, 'lock'), 'utf8'), `${process.pid}\n`);
      again.release();
    }
    assert.deepEqual(readdirSync(state), [], 'no temporary files left');
  });

  it('a run that read a stale lock, but finds a live run\'s lock when it moves it aside, puts it back and yields', () => {
    const state = join(dir, 'b');
    mkdirSync(state);
    // Between this run's read of a stale lock and its move, the other run took the directory over.
    writeFileSync(join(state, 'lock'), `${other.pid}\n`);
    assert.equal(removeStaleLock(join(state, 'lock')), other.pid);
    assert.equal(readFileSync(join(state, 'lock'), 'utf8'), `${other.pid}\n`, 'the live lock is back');
    // The stale one itself goes; a lock already moved by another run is no error.
    writeFileSync(join(state, 'lock'), `${gonePid()}\n`);
    assert.equal(removeStaleLock(join(state, 'lock')), undefined);
    assert.equal(existsSync(join(state, 'lock')), false);
    assert.equal(removeStaleLock(join(state, 'lock')), undefined);
    assert.deepEqual(readdirSync(state), []);
  });
});
