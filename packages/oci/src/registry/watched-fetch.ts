import { StallTimeout } from './retry.js';

/** A request body: bytes, or chunks pulled as the socket drains. Built fresh for each attempt. */
export type RequestBody = Buffer | string | ReadableStream<Uint8Array>;

/** Resets a request's stall timer; a streamed body calls it for each chunk the socket takes. */
export interface Watchdog {
  touch(): void;
}

/**
 * The response with its body read through an idle timer: when no chunk
 * arrives for `idleMs`, the body is cancelled (which closes the connection)
 * and the read fails with StallTimeout, whoever reads it (a blob download,
 * `json()`, `arrayBuffer()`). A registry, or a middlebox before it, that
 * stops sending mid-body keeps the socket open for minutes otherwise.
 */
export function watchBody(response: Response, idleMs: number): Response {
  if (!response.body) return response;
  // Node types a fetch body's chunks loosely; a Response body is bytes.
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let timer: NodeJS.Timeout | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await Promise.race([
          reader.read(),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new StallTimeout(idleMs)), idleMs);
          }),
        ]).finally(() => clearTimeout(timer));
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        await reader.cancel().catch(() => undefined);
        controller.error(error);
      }
    },
    async cancel(reason) {
      clearTimeout(timer);
      await reader.cancel(reason).catch(() => undefined);
    },
  });
  const watched = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // A constructed Response has no URL; error details name it.
  Object.defineProperty(watched, 'url', { value: response.url });
  return watched;
}

/**
 * One fetch that cannot hang: aborted with a StallTimeout when no response
 * headers come (or, while a streamed body is sent, the socket takes no
 * bytes) for `idleMs`, and with its response body watched the same way
 * (watchBody). undici's own timeouts are 300 s, which is what made a
 * stalled pull end in an internal error after five minutes (issue 22).
 */
export async function watchedFetch(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  idleMs: number,
  body?: (watchdog: Watchdog) => RequestBody,
): Promise<Response> {
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // A body stream may still pull a chunk after the response came; then there is nothing left to watch.
  let settled = false;
  const watchdog: Watchdog = {
    touch: () => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(new StallTimeout(idleMs)), idleMs);
    },
  };
  watchdog.touch();
  const payload = body ? body(watchdog) : init.body;
  const signal = init.signal ? AbortSignal.any([init.signal, stall.signal]) : stall.signal;
  try {
    const response = await fetchImpl(url, {
      ...init,
      body: payload,
      signal,
      ...(payload instanceof ReadableStream ? { duplex: 'half' } : {}),
    });
    return watchBody(response, idleMs);
  } catch (error) {
    // fetch rejects with the abort reason: our StallTimeout, or the caller's.
    if (stall.signal.aborted && !init.signal?.aborted) throw stall.signal.reason as Error;
    throw error;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}
