import { describe, expect, it } from '@jest/globals';
import { requireCommand } from '@alki/testkit';
import { parseLddOutput, sharedLibrariesOf } from './shared-libraries.js';

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
