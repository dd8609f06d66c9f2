import { Worker } from 'node:worker_threads';
import { CalibrateError } from '../errors.js';

/** A measured memory bandwidth. */
export interface BandwidthMeasurement {
  /**
   * Copy bandwidth of all threads together, in GB/s (10^9 bytes), counted
   * as STREAM's Copy kernel counts it: the bytes read plus the bytes written.
   */
  copyGBps: number;
  /** The same, for one thread alone. */
  singleThreadGBps: number;
  threads: number;
  /** Bytes of each buffer; two per thread. */
  bufferBytes: number;
  repetitions: number;
}

export interface BandwidthOptions {
  /** Threads that copy at once; default 1 (pass the core count for the machine's total). */
  threads?: number;
  /**
   * Size of each of a thread's two buffers. It must be well past the last
   * level cache, or the test measures the cache: 64 MiB is past every edge
   * board's cache and most desktop ones.
   */
  bufferBytes?: number;
  /** Copies per thread; the fastest counts. Default 5. */
  repetitions?: number;
  signal?: AbortSignal;
}

const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;

// Each worker fills its buffers (so every page is mapped before timing), waits
// for the shared start flag so that all threads copy at the same time, then
// times each copy. Buffer.copy is memmove in libuv/V8: the fastest copy the
// platform has, as llama.cpp's own memory traffic is.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { bytes, repetitions, flag } = workerData;
const source = Buffer.alloc(bytes, 1);
const target = Buffer.alloc(bytes, 2);
source.copy(target);
const start = new Int32Array(flag);
Atomics.add(start, 1, 1);
Atomics.wait(start, 0, 0);
const times = [];
for (let i = 0; i < repetitions; i++) {
  const t0 = process.hrtime.bigint();
  (i % 2 === 0 ? source : target).copy(i % 2 === 0 ? target : source);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
parentPort.postMessage(times);
`;

// STREAM (McCalpin, stream.c) reports the best time of its repetitions: on a
// busy machine the slower ones measure the other processes, not the memory.
function best(times: number[]): number {
  return Math.min(...times);
}

async function copyTimes(
  threads: number,
  bytes: number,
  repetitions: number,
  signal?: AbortSignal,
): Promise<number[][]> {
  signal?.throwIfAborted();
  const flag = new SharedArrayBuffer(8);
  const state = new Int32Array(flag);
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, repetitions, flag } }),
  );
  const stop = () => {
    for (const worker of workers) void worker.terminate();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const results = workers.map(
      (worker) =>
        new Promise<number[]>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`the copy worker exited with code ${code}`)));
        }),
    );
    // An abort ends the workers early; their promises then reject with nobody waiting.
    for (const result of results) result.catch(() => undefined);
    // Start only when every worker has its buffers ready.
    while (Atomics.load(state, 1) < threads) {
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
    return await Promise.all(results);
  } finally {
    signal?.removeEventListener('abort', stop);
    stop();
  }
}

/**
 * Measures memory bandwidth with a copy test: each thread copies a buffer
 * larger than the caches a few times, and the fastest copy counts. Single
 * thread first, then all threads at once. Takes about half a second.
 *
 * @example
 * const { copyGBps } = await measureMemoryBandwidth({ threads: os.availableParallelism() });
 */
export async function measureMemoryBandwidth(options: BandwidthOptions = {}): Promise<BandwidthMeasurement> {
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const bytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  const repetitions = Math.max(1, options.repetitions ?? 5);
  try {
    const [single] = await copyTimes(1, bytes, repetitions, options.signal);
    const singleThreadGBps = (2 * bytes) / best(single) / 1e9;
    const together =
      threads === 1
        ? singleThreadGBps
        : (await copyTimes(threads, bytes, repetitions, options.signal))
            .map((times) => (2 * bytes) / best(times) / 1e9)
            .reduce((a, b) => a + b, 0);
    // All threads together never have less bandwidth than one alone; a lower
    // figure means other processes took the cores, so the single one stands.
    const copyGBps = Math.max(together, singleThreadGBps);
    return { copyGBps, singleThreadGBps, threads, bufferBytes: bytes, repetitions };
  } catch (error) {
    options.signal?.throwIfAborted();
    throw new CalibrateError(
      'MEASUREMENT_FAILED',
      `The memory bandwidth test failed: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'Retry with a smaller buffer if memory is short.',
      },
    );
  }
}
