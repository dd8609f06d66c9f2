/**
 * Hands out a fixed set of resources (context sequences) one request at a
 * time, first come first served. Requests beyond the pool size wait in order.
 */
export class Pool<T> {
  private readonly free: T[];
  private readonly waiting: Array<{
    resolve: (item: T) => void;
    reject: (error: unknown) => void;
    signal?: AbortSignal;
    onAbort?: () => void;
  }> = [];

  constructor(items: readonly T[]) {
    this.free = [...items];
  }

  /** Waits for a free item; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const item = this.free.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter: (typeof this.waiting)[number] = { resolve, reject, signal };
      waiter.onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  release(item: T): void {
    const next = this.waiting.shift();
    if (!next) {
      this.free.push(item);
      return;
    }
    if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
    next.resolve(item);
  }

  /** How many requests wait for an item. */
  get queued(): number {
    return this.waiting.length;
  }
}
