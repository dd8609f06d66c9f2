import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '@alki/testkit';
import {
  crossSharedLibrariesOf,
  parseLddOutput,
  parseReadelf,
  sharedLibrariesOf,
} from './shared-libraries.js';

describe('parseLddOutput', () => {
  it('keeps every library path and the loader, and skips the vDSO', () => {
    const text = [
      '\tlinux-vdso.so.1 (0x00007ffd1b5f2000)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0e4a000000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e49e1e000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e4a3c4000)',
    ].join('\n');
    expect(parseLddOutput(text)).toEqual([
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libstdc++.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });

  it('fails when a library is not found, since the image would not start', () => {
    expect(() => parseLddOutput('\tlibfoo.so.1 => not found\n')).toThrow(/libfoo\.so\.1/);
  });

  it('returns nothing for a static binary', () => {
    expect(parseLddOutput('\tstatically linked\n')).toEqual([]);
  });
});

describe('sharedLibrariesOf', () => {
  it("lists node's real libraries, loader included, with the real ldd", () => {
    requireCommand('ldd', 'the shared library test');
    const libraries = sharedLibrariesOf(process.execPath);
    expect(libraries.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    expect(libraries.some((l) => /ld-linux.*\.so\.2$/.test(l))).toBe(true);
  });
});

describe('parseReadelf', () => {
  it('reads the NEEDED libraries of the dynamic section and the program interpreter', () => {
    const dynamic = [
      ' 0x0000000000000001 (NEEDED)             Shared library: [libstdc++.so.6]',
      ' 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]',
      ' 0x000000000000000c (INIT)               0x4000',
    ].join('\n');
    const headers = '      [Requesting program interpreter: /lib/ld-linux-aarch64.so.1]';
    expect(parseReadelf(dynamic, headers)).toEqual({
      needed: ['libstdc++.so.6', 'libc.so.6'],
      interpreter: '/lib/ld-linux-aarch64.so.1',
    });
    expect(parseReadelf('', '')).toEqual({ needed: [] });
  });
});

describe('crossSharedLibrariesOf', () => {
  it("follows a binary's libraries through a sysroot laid out as Debian's cross toolchains are, and names one that is missing", () => {
    requireCommand('readelf', 'the ELF dependency test');
    // A sysroot of this machine's own libraries, flat in lib/ as in /usr/aarch64-linux-gnu/lib.
    const sysroot = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-sysroot-'));
    try {
      fs.mkdirSync(path.join(sysroot, 'lib'));
      const host = sharedLibrariesOf('/usr/bin/ls');
      for (const file of host) fs.symlinkSync(file, path.join(sysroot, 'lib', path.basename(file)));
      const files = crossSharedLibrariesOf('/usr/bin/ls', sysroot, 'test-triplet');
      const loader = host.find((file) => path.basename(file).startsWith('ld-linux'))!;
      expect(files.map((f) => f.imagePath).sort()).toEqual(
        host.map((file) => (file === loader ? loader : `/lib/test-triplet/${path.basename(file)}`)).sort(),
      );
      for (const file of files)
        expect(fs.realpathSync(file.hostPath)).toBe(
          fs.realpathSync(path.join(sysroot, 'lib', path.basename(file.hostPath))),
        );
      fs.rmSync(path.join(sysroot, 'lib', 'libc.so.6'));
      expect(() => crossSharedLibrariesOf('/usr/bin/ls', sysroot, 'test-triplet')).toThrow(
        expect.objectContaining({
          code: 'TOOL_FAILED',
          message: expect.stringContaining('libc.so.6'),
        }),
      );
    } finally {
      fs.rmSync(sysroot, { recursive: true, force: true });
    }
  });
});
