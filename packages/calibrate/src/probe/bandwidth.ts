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
  /** Copies each thread made (the fewest of any): fewer than asked when a round's time ran out. */
  repetitions: number;
}

export interface BandwidthOptions {
  /** Threads that copy at once; default 1 (pass the core count for the machine's total). */
  threads?: number;
  /**
   * Size of each of a thread's two buffers. It must be well past the last
   * level cache, or the test measures the cache: bufferBytesFor(the cache's
   * size); by default 64 MiB, past every edge board's cache and most
   * desktop ones.
   */
  bufferBytes?: number;
  /** Copies per thread at most; the fastest counts. Default 5. */
  repetitions?: number;
  /**
   * Time each of the two rounds (one thread, then all) may copy for, in
   * milliseconds. A thread starts no copy after it, once it has made
   * MIN_COPIES. Default 60.
   */
  roundMs?: number;
  signal?: AbortSignal;
}

const MIB = 1024 * 1024;
const DEFAULT_BUFFER_BYTES = 64 * MIB;
const MIN_BUFFER_BYTES = 8 * MIB;
const DEFAULT_REPETITIONS = 5;
const DEFAULT_ROUND_MS = 60;
// Two copies, so that the best one is not the only one; the first copy of a
// round can pay for the other threads still waking up.
const MIN_COPIES = 2;

// Each worker fills its buffers once (so every page is mapped before any
// timing) and then serves rounds: it waits for the round's start flag, so
// that all threads of a round copy at the same time, and times each copy
// until it has made its copies or the round's time is up. Buffer.copy is
// memmove in libuv/V8: the fastest copy the platform has, as llama.cpp's own
// memory traffic is.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { bytes, flag } = workerData;
const source = Buffer.alloc(bytes, 1);
const target = Buffer.alloc(bytes, 2);
const state = new Int32Array(flag);
parentPort.postMessage('ready');
parentPort.on('message', ({ round, copies, minCopies, roundMs }) => {
  Atomics.add(state, 1, 1);
  Atomics.wait(state, 0, round - 1);
  const times = [];
  const started = performance.now();
  for (let i = 0; i < copies; i++) {
    if (i >= minCopies && performance.now() - started >= roundMs) break;
    const t0 = performance.now();
    (i % 2 === 0 ? source : target).copy(i % 2 === 0 ? target : source);
    times.push((performance.now() - t0) / 1000);
  }
  parentPort.postMessage(times);
});
`;

/**
 * The buffer size that measures memory, not a cache of `lastLevelCacheBytes`:
 * twice the cache, so that a thread's two buffers hold four times the cache
 * and no byte is still cached when a copy comes back to it (STREAM's rule,
 * stream.c: four times the cache). Between 8 and 64 MiB; 64 MiB when the
 * cache is unknown.
 *
 * @example
 * bufferBytesFor(16 * 1024 * 1024); // 32 MiB
 */
export function bufferBytesFor(lastLevelCacheBytes: number | undefined): number {
  if (lastLevelCacheBytes === undefined) return DEFAULT_BUFFER_BYTES;
  const bytes = Math.ceil((2 * lastLevelCacheBytes) / MIB) * MIB;
  return Math.min(DEFAULT_BUFFER_BYTES, Math.max(MIN_BUFFER_BYTES, bytes));
}

// STREAM (McCalpin, stream.c) reports the best time of its repetitions: on a
// busy machine the slower ones measure the other processes, not the memory.
function best(times: number[]): number {
  return Math.min(...times);
}

/** Worker threads holding their buffers, which copy in rounds. */
class CopyWorkers {
  private readonly flag = new SharedArrayBuffer(8);
  private readonly state = new Int32Array(this.flag);
  private readonly workers: Worker[];
  private round = 0;

  constructor(
    threads: number,
    bytes: number,
    private readonly signal?: AbortSignal,
  ) {
    this.workers = Array.from(
      { length: threads },
      () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, flag: this.flag } }),
    );
  }

  /** Resolves when every worker has filled its buffers. */
  ready(): Promise<unknown> {
    return Promise.all(this.workers.map((worker) => this.next<string>(worker)));
  }

  /** The first `count` workers copy at once; each one's copy times, in seconds. */
  async copy(count: number, copies: number, roundMs: number): Promise<number[][]> {
    this.signal?.throwIfAborted();
    const round = ++this.round;
    const taking = this.workers.slice(0, count);
    const results = taking.map((worker) => this.next<number[]>(worker));
    Atomics.store(this.state, 1, 0);
    for (const worker of taking) worker.postMessage({ round, copies, minCopies: MIN_COPIES, roundMs });
    // Start only when every worker of the round is waiting for the flag.
    while (Atomics.load(this.state, 1) < count) {
      this.signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    Atomics.store(this.state, 0, round);
    Atomics.notify(this.state, 0);
    return Promise.all(results);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private next<T>(worker: Worker): Promise<T> {
    const answer = new Promise<T>((resolve, reject) => {
      const settle = (fn: () => void) => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        this.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onMessage = (message: T) => settle(() => resolve(message));
      const onError = (error: Error) => settle(() => reject(error));
      const onExit = (code: number) =>
        settle(() => reject(new Error(`the copy worker exited with code ${code}`)));
      const onAbort = () => settle(() => reject(this.signal!.reason));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
    // A round may fail before its answers are awaited; they then reject with nobody waiting.
    answer.catch(() => undefined);
    return answer;
  }
}

/**
 * Measures memory bandwidth with a copy test: each thread copies a buffer
 * larger than the caches a few times, and the fastest copy counts. Single
 * thread first, then all threads at once, in the same workers. The copying
 * is bounded in time (`roundMs` per round); filling the buffers takes about
 * as long again.
 *
 * @example
 * const { copyGBps } = await measureMemoryBandwidth({ threads: os.availableParallelism() });
 */
export async function measureMemoryBandwidth(options: BandwidthOptions = {}): Promise<BandwidthMeasurement> {
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const bytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  const repetitions = Math.max(MIN_COPIES, options.repetitions ?? DEFAULT_REPETITIONS);
  const roundMs = options.roundMs ?? DEFAULT_ROUND_MS;
  options.signal?.throwIfAborted();
  const workers = new CopyWorkers(threads, bytes, options.signal);
  try {
    await workers.ready();
    const [single] = await workers.copy(1, repetitions, roundMs);
    const singleThreadGBps = (2 * bytes) / best(single) / 1e9;
    const all = threads === 1 ? [single] : await workers.copy(threads, repetitions, roundMs);
    const together = all.map((times) => (2 * bytes) / best(times) / 1e9).reduce((a, b) => a + b, 0);
    // All threads together never have less bandwidth than one alone; a lower
    // figure means other processes took the cores, so the single one stands.
    const copyGBps = Math.max(together, singleThreadGBps);
    const copies = Math.min(single.length, ...all.map((times) => times.length));
    return { copyGBps, singleThreadGBps, threads, bufferBytes: bytes, repetitions: copies };
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
  } finally {
    await workers.close();
  }
}
