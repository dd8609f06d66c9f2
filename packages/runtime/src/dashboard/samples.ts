// The dashboard's history: the server's cumulative counters read at a fixed
// interval, turned into one point per interval (rates and averages over it),
// kept in a ring of bounded size so an hour of points costs the same memory
// on the first day as on the hundredth.

/** The server's cumulative figures at one moment. */
export interface MetricsReading {
  /** Milliseconds since the epoch. */
  at: number;
  /** Generation and embedding requests answered so far, successful or not. */
  requests: number;
  /** Requests answered with an error so far. */
  errors: number;
  /** Tokens generated so far. */
  completionTokens: number;
  /** Sum and count of the time-to-first-token observations so far, in seconds. */
  firstTokenSum: number;
  firstTokenCount: number;
  /** Resident memory now, in bytes (this process and the engine's). */
  rssBytes: number;
}

/** One point of the dashboard's charts: what happened between two readings. */
export interface DashboardSample {
  /** The end of the interval, milliseconds since the epoch. */
  at: number;
  /** Requests answered so far (cumulative). */
  requests: number;
  /** Errors so far (cumulative). */
  errors: number;
  /** Requests answered per minute over the interval. */
  requestsPerMinute: number;
  /** Tokens generated per second over the interval. */
  tokensPerSecond: number;
  /** Mean time to first token of the requests whose first token came in the interval; null when none did. */
  firstTokenSeconds: number | null;
  rssBytes: number;
}

/** The point for the interval from `previous` to `current`. Pure. */
export function samplePoint(previous: MetricsReading, current: MetricsReading): DashboardSample {
  const seconds = (current.at - previous.at) / 1000;
  const rate = (delta: number, per: number) => (seconds > 0 ? (delta / seconds) * per : 0);
  const firstTokens = current.firstTokenCount - previous.firstTokenCount;
  return {
    at: current.at,
    requests: current.requests,
    errors: current.errors,
    requestsPerMinute: rate(current.requests - previous.requests, 60),
    tokensPerSecond: rate(current.completionTokens - previous.completionTokens, 1),
    firstTokenSeconds:
      firstTokens > 0 ? (current.firstTokenSum - previous.firstTokenSum) / firstTokens : null,
    rssBytes: current.rssBytes,
  };
}

/** A first-in, first-out buffer that keeps the newest `capacity` items. */
export class SampleRing<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`A ring holds at least one item; got capacity ${capacity}.`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}
