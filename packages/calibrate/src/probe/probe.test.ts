import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { readLastLevelCacheBytes } from './cache.js';
import { probeHardware } from './probe.js';

describe('probeHardware', () => {
  it('probes this machine: cores and memory as the OS sees them, no GPU backend, a measured bandwidth', async () => {
    const probe = await probeHardware();
    expect(probe.cpu.logicalCores).toBe(os.cpus().length);
    expect(probe.memory.totalBytes).toBe(os.totalmem());
    // sched_getaffinity (what availableParallelism reads) reflects the cpuset.
    expect(probe.usable.cores).toBeLessThanOrEqual(os.availableParallelism());
    expect(probe.usable.memoryBytes).toBeLessThanOrEqual(probe.memory.totalBytes);
    // This VM has no GPU: node-llama-cpp finds no GPU backend.
    expect(probe.gpu).toEqual({
      backend: null,
      devices: [],
      vramTotalBytes: 0,
      vramFreeBytes: 0,
      unifiedBytes: 0,
    });
    expect(probe.bandwidth!.copyGBps).toBeGreaterThan(0.5);
    expect(probe.bandwidth!.threads).toBe(probe.usable.cores);
    // Each thread's two buffers hold at least four times the last-level cache.
    const cache = await readLastLevelCacheBytes((file) => readFile(file, 'utf8').catch(() => undefined));
    if (cache !== undefined && cache <= 32 * 1024 * 1024)
      expect(probe.bandwidth!.bufferBytes).toBeGreaterThanOrEqual(2 * cache);
  }, 30_000);

  it('narrows the usable cores and memory to the cgroup limits it finds', async () => {
    const fake: Record<string, string> = {
      '/proc/cpuinfo':
        'processor\t: 0\nflags\t: avx2\n\nprocessor\t: 1\nflags\t: avx2\n\nprocessor\t: 2\nflags\t: avx2\n\nprocessor\t: 3\nflags\t: avx2\n',
      '/proc/meminfo': 'MemTotal: 8388608 kB\nMemAvailable: 6291456 kB\n',
      '/proc/self/cgroup': '0::/\n',
      '/proc/self/mountinfo': '29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n',
      '/sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      '/sys/fs/cgroup/cpu.max': '250000 100000\n',
      '/sys/fs/cgroup/memory.max': '2147483648\n',
    };
    const probe = await probeHardware({
      read: (f) => Promise.resolve(fake[f]),
      bandwidth: false,
      gpu: false,
      hostname: 'edge-1',
    });
    expect(probe.usable).toEqual({ cores: 2, memoryBytes: 2147483648 });
    expect(probe.hostname).toBe('edge-1');
    expect(probe.bandwidth).toBeUndefined();
  });

  it('refuses a system without /proc with a hint', async () => {
    await expect(
      probeHardware({ read: () => Promise.resolve(undefined), bandwidth: false, gpu: false }),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED_ENVIRONMENT',
    });
  });
});
