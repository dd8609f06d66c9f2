import { describeCause } from '@alki/errors';
import { OciError, throwIfAborted } from '../errors.js';

/** How requests are retried on 5xx, 429 and broken connections. */
export interface RetryPolicy {
  /** Attempts in total, the first included. Default 5. */
  attempts: number;
  /** The first back-off delay; it doubles each attempt. Default 250 ms. */
  baseDelayMs: number;
  /** No wait, Retry-After included, is longer than this. Default 30 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Sleeps `ms`, or rejects when the signal fires. Injected so tests do not wait. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it fires (at once if it
 * already has). Every package that waits between attempts uses this one.
 *
 * @example
 * await abortableSleep(250, signal);
 */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

// RFC 9110 section 10.2.3: Retry-After is delay-seconds or an HTTP-date.
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** True for statuses worth retrying: the server may answer differently later. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Thrown into a request when the registry sent nothing for the stall
 * timeout: no response headers, or no body bytes. Retried like a dropped
 * connection.
 */
export class StallTimeout extends Error {
  override readonly name = 'StallTimeout';
  constructor(readonly idleMs: number) {
    super(`no data for ${idleMs / 1000} s`);
  }
}

/**
 * A transport failure (connection refused, reset or stalled), as undici's
 * fetch reports it: a TypeError, or the StallTimeout we aborted it with.
 * Compared by name, because errors from another realm (a test VM, a worker)
 * fail `instanceof`.
 */
export function isTransportError(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return (
    name === 'TypeError' ||
    name === 'StallTimeout' ||
    (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET'
  );
}

export interface RetryContext {
  policy: RetryPolicy;
  sleep: Sleep;
  now: () => number;
  signal?: AbortSignal;
  /** Told about each retry, for --verbose. */
  onRetry?: (event: { attempt: number; delayMs: number; reason: string; url: string }) => void;
}

/**
 * Sends a request built by `attempt` until it gets a response that is not a
 * 5xx or 429, or attempts run out. The request is rebuilt each time, so
 * bodies must be replayable. Transport errors are retried too; when attempts
 * run out they become UNREACHABLE, and a last 5xx or 429 response is returned
 * for the caller to report.
 */
export async function withRetry(
  url: string,
  attempt: () => Promise<Response>,
  context: RetryContext,
): Promise<Response> {
  const { policy } = context;
  for (let n = 1; ; n++) {
    throwIfAborted(context.signal);
    let reason: string;
    let retryAfter: number | undefined;
    try {
      const response = await attempt();
      if (!isRetryableStatus(response.status) || n >= policy.attempts) return response;
      reason = `HTTP ${response.status}`;
      retryAfter = parseRetryAfter(response.headers.get('retry-after'), context.now());
      // Drain the body so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      if (error instanceof OciError) throw error;
      throwIfAborted(context.signal);
      if (!isTransportError(error) || n >= policy.attempts) {
        throw new OciError('UNREACHABLE', `Could not reach ${new URL(url).host}: ${describeCause(error)}.`, {
          cause: error,
          hint: 'Check the registry address, that it is running, and whether it needs --plain-http.',
          details: { url, attempts: n },
        });
      }
      reason = describeCause(error);
    }
    const backoff = policy.baseDelayMs * 2 ** (n - 1);
    const delayMs = Math.min(policy.maxDelayMs, retryAfter ?? backoff);
    context.onRetry?.({ attempt: n, delayMs, reason, url });
    // An interrupted wait is ABORTED, like an interrupted request.
    await context.sleep(delayMs, context.signal).catch((error: unknown) => {
      throwIfAborted(context.signal);
      throw error;
    });
  }
}
