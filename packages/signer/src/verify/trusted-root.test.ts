import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tufCachePath, type TufCacheIo } from './trusted-root.js';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-tuf-cache-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

// The machine as tufCachePath sees it, with a home and temp directory under the test's folder.
const io = (over: Partial<TufCacheIo> = {}): TufCacheIo => ({
  platform: 'linux',
  env: {},
  homedir: path.join(work, 'home'),
  tmpdir: path.join(work, 'tmp'),
  uid: process.getuid!(),
  fs,
  ...over,
});

describe('tufCachePath', () => {
  beforeEach(() => fs.mkdirSync(path.join(work, 'tmp')));

  it("is @sigstore/tuf's default where that can be written: XDG_DATA_HOME, else ~/.local/share", () => {
    expect(tufCachePath(io({ env: { XDG_DATA_HOME: path.join(work, 'data') } }))).toBe(
      path.join(work, 'data', 'sigstore-js'),
    );
    expect(tufCachePath(io())).toBe(path.join(work, 'home', '.local', 'share', 'sigstore-js'));
    expect(fs.statSync(path.join(work, 'home', '.local', 'share', 'sigstore-js')).isDirectory()).toBe(true);
    expect(tufCachePath(io({ platform: 'darwin' }))).toBeUndefined();
  });

  it('falls back to a private directory of its own under the temp directory when the default cannot be written', () => {
    // A home that is a file: nothing can be made below it (a read-only root file system fails the same way).
    fs.writeFileSync(path.join(work, 'home'), '');
    const fallback = path.join(work, 'tmp', `alki-sigstore-tuf-${process.getuid!()}`);
    expect(tufCachePath(io())).toBe(fallback);
    expect(fs.statSync(fallback).mode & 0o777).toBe(0o700);
    // Made once, then used as it is.
    expect(tufCachePath(io())).toBe(fallback);
  });

  it('refuses a fallback that someone else could have written', () => {
    fs.writeFileSync(path.join(work, 'home'), '');
    const fallback = path.join(work, 'tmp', `alki-sigstore-tuf-${process.getuid!()}`);
    fs.mkdirSync(fallback, { mode: 0o777 });
    fs.chmodSync(fallback, 0o777);
    expect(() => tufCachePath(io())).toThrow(
      expect.objectContaining({
        code: 'TRUSTED_ROOT_UNAVAILABLE',
        message: expect.stringContaining('others may use it (mode 777)'),
      }),
    );
    fs.chmodSync(fallback, 0o700);
    expect(() => tufCachePath(io({ uid: process.getuid!() + 1 }))).toThrow(
      /alki-sigstore-tuf-\d+ cannot be used: .*(belongs to user|EACCES)/,
    );
    fs.rmSync(fallback, { recursive: true });
    fs.symlinkSync(path.join(work, 'elsewhere'), fallback);
    expect(() => tufCachePath(io())).toThrow('it is not a directory');
  });
});
