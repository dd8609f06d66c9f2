import { describe, expect, it } from '@jest/globals';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    ['2GiB', 2 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['512MiB', 512 * 1024 ** 2],
    ['800MB', 800e6],
    ['1073741824', 1073741824],
    [' 64 m ', 64 * 1024 ** 2],
  ])('reads %s', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(['', 'lots', '2 parsecs', '-1G', '0'])('refuses %j with the flag named', (text) => {
    expect(() => parseByteSize(text, '--max-memory')).toThrow(/--max-memory must be a size such as 2GiB/);
  });
});
