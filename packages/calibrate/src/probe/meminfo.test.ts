import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseMemInfo } from './meminfo.js';

describe('parseMemInfo', () => {
  it("reads this machine's total memory as the OS reports it", () => {
    const memory = parseMemInfo(readFileSync('/proc/meminfo', 'utf8'));
    expect(memory.totalBytes).toBe(os.totalmem());
    expect(memory.availableBytes).toBeGreaterThan(0);
    expect(memory.availableBytes).toBeLessThanOrEqual(memory.totalBytes);
  });

  it('reads the kB values as KiB, as the kernel writes them', () => {
    const memory = parseMemInfo(
      'MemTotal:        8000000 kB\nMemFree:  100 kB\nMemAvailable:    6000000 kB\nSwapTotal:       1024 kB\n',
    );
    expect(memory).toEqual({
      totalBytes: 8_000_000 * 1024,
      availableBytes: 6_000_000 * 1024,
      swapTotalBytes: 1024 * 1024,
    });
  });

  it('falls back to free + buffers + cache on kernels without MemAvailable', () => {
    const memory = parseMemInfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n');
    expect(memory.availableBytes).toBe(420 * 1024);
    expect(memory.swapTotalBytes).toBe(0);
  });
});
