import { describe, expect, it } from '@jest/globals';
import { bufferBytesFor, measureMemoryBandwidth } from './bandwidth.js';

const MIB = 1024 * 1024;

describe('measureMemoryBandwidth', () => {
  it('measures the copy bandwidth of one thread alone and of two at once', async () => {
    const result = await measureMemoryBandwidth({ threads: 2, bufferBytes: 16 * MIB, repetitions: 3 });
    expect(result.threads).toBe(2);
    expect(result.bufferBytes).toBe(16 * MIB);
    expect(result.singleThreadGBps).toBeGreaterThan(0.5);
    expect(result.copyGBps).toBeGreaterThanOrEqual(result.singleThreadGBps);
    expect(result.repetitions).toBeGreaterThanOrEqual(2);
    expect(result.repetitions).toBeLessThanOrEqual(3);
  });

  it('stops copying when a round runs out of time, after two copies at least', async () => {
    // 10,000 copies of 16 MiB each way would take minutes; each round has 30 ms.
    const started = performance.now();
    const result = await measureMemoryBandwidth({
      threads: 2,
      bufferBytes: 16 * MIB,
      repetitions: 10_000,
      roundMs: 30,
    });
    expect(result.repetitions).toBeGreaterThanOrEqual(2);
    expect(result.repetitions).toBeLessThan(10_000);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('stops when aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(measureMemoryBandwidth({ signal: controller.signal })).rejects.toThrow('stop');
  });

  it('stops when aborted while it copies', async () => {
    const controller = new AbortController();
    const measuring = measureMemoryBandwidth({
      bufferBytes: 16 * MIB,
      repetitions: 1_000_000,
      roundMs: Infinity,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('stop')), 300);
    await expect(measuring).rejects.toThrow('stop');
  });
});

describe('bufferBytesFor', () => {
  it('takes twice the last-level cache, rounded up to whole MiB, within 8 and 64 MiB', () => {
    expect(bufferBytesFor(16 * MIB)).toBe(32 * MIB);
    expect(bufferBytesFor(12.5 * MIB)).toBe(25 * MIB);
    expect(bufferBytesFor(2 * MIB)).toBe(8 * MIB);
    expect(bufferBytesFor(96 * MIB)).toBe(64 * MIB);
  });

  it('takes 64 MiB when the cache is unknown', () => {
    expect(bufferBytesFor(undefined)).toBe(64 * MIB);
  });
});
