// A fixed pool of worker threads that convert chunks, first come first served.
import { Worker } from 'node:worker_threads';
import { QuantizerError } from '../errors.js';
import type { ChunkJob, ChunkResult } from './convert-chunk.js';

/**
 * The compiled worker entry. Under Jest the sources are TypeScript, which a
 * worker thread cannot load, so it falls back to the package's dist/ build.
 */
export function workerEntryUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts'))
    return new URL(here.replace(/\/src\/worker\/[^/]+\.ts$/, '/dist/worker/quantize-worker.js'));
  return new URL('./quantize-worker.js', here);
}

interface Pending {
  resolve(result: ChunkResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Array<{ id: number; job: ChunkJob }> = [];
  private nextId = 0;
  private failure: Error | undefined;

  constructor(threads: number, entry: URL = workerEntryUrl()) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(entry);
      const slot: Slot = { worker, busy: false };
      worker.on('message', (message: { id: number; result?: ChunkResult; error?: string }) => {
        slot.busy = false;
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error !== undefined)
          waiter?.reject(
            new QuantizerError('WORKER_FAILED', `A quantization worker failed: ${message.error}`),
          );
        else waiter?.resolve(message.result!);
        this.dispatch();
      });
      worker.on('error', (error) =>
        this.fail(
          new QuantizerError('WORKER_FAILED', `A quantization worker crashed: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      this.slots.push(slot);
    }
  }

  /** Converts one chunk on the next free worker. The chunk's buffer is transferred, so the caller must not reuse it. */
  run(job: ChunkJob): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<ChunkResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ id, job });
    this.dispatch();
    return promise;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = true;
      slot.worker.postMessage(next, [next.job.bytes.buffer as ArrayBuffer]);
    }
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
