import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { readLastLevelCacheBytes } from './cache.js';

const DIR = '/sys/devices/system/cpu/cpu0/cache';

describe('readLastLevelCacheBytes', () => {
  it('takes the size of the highest cache level sysfs lists', async () => {
    const sysfs: Record<string, string> = {
      [`${DIR}/index0/level`]: '1\n',
      [`${DIR}/index0/size`]: '32K\n',
      [`${DIR}/index1/level`]: '1\n',
      [`${DIR}/index1/size`]: '32K\n',
      [`${DIR}/index2/level`]: '2\n',
      [`${DIR}/index2/size`]: '512K\n',
      [`${DIR}/index3/level`]: '3\n',
      [`${DIR}/index3/size`]: '16384K\n',
    };
    expect(await readLastLevelCacheBytes((file) => Promise.resolve(sysfs[file]))).toBe(16 * 1024 * 1024);
  });

  it('is undefined where sysfs lists no caches', async () => {
    expect(await readLastLevelCacheBytes(() => Promise.resolve(undefined))).toBeUndefined();
  });

  it("reads this machine's sysfs", async () => {
    const read = (file: string) => readFile(file, 'utf8').catch(() => undefined);
    const level0 = await read(`${DIR}/index0/level`);
    const bytes = await readLastLevelCacheBytes(read);
    if (level0 === undefined) expect(bytes).toBeUndefined();
    else expect(bytes).toBeGreaterThanOrEqual(64 * 1024);
  });
});
