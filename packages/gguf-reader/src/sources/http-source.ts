import { GgufError } from '../errors.js';
import type { ByteSource } from '../types.js';

export interface HttpSourceOptions {
  /** Extra request headers, e.g. `{ authorization: 'Bearer hf_...' }`; sent on every request. */
  headers?: Record<string, string>;
  /** Injected fetch (proxies, tests). Defaults to the global fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Extra attempts after a connection failure, a stall or a 5xx/429 answer. Default 2. */
  retries?: number;
  /** Wait before retry n is n times this. Default 250 ms. */
  retryDelayMs?: number;
  /**
   * A request that receives nothing (no answer, no body bytes) for this long
   * counts as dropped: it is cut and retried from the byte it reached, with
   * Range. Default 10 s, huggingface_hub's default download timeout.
   */
  idleTimeoutMs?: number;
}

// The first request asks for this much: enough for the header of most
// models, so a remote inspect is usually one or two requests.
const PROBE_BYTES = 64 * 1024;
// A server that ignores Range sends the whole file; below this size we keep
// it in memory rather than refusing.
const MAX_WHOLE_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/**
 * A source over an HTTP(S) URL, read with Range requests so that only the
 * bytes asked for cross the network. The first request learns the size from
 * `Content-Range`. Redirects are followed (the hub redirects to its CDN).
 *
 * @example
 * const source = await httpSource('https://huggingface.co/org/repo/resolve/main/model.gguf', {
 *   headers: { authorization: `Bearer ${process.env.HF_TOKEN}` },
 * });
 * const file = await readGguf(source);
 */
export async function httpSource(url: string, options: HttpSourceOptions = {}): Promise<ByteSource> {
  const request = rangeRequester(url, options);
  const first = await request(0, PROBE_BYTES);
  if (first.whole) {
    const whole = first.bytes;
    return {
      size: whole.length,
      read: (offset, length) => Promise.resolve(whole.subarray(offset, offset + length)),
    };
  }
  const size = first.size;
  const probe = first.bytes;
  return {
    size,
    async read(offset, length) {
      const end = Math.min(offset + length, size);
      if (end <= offset) return new Uint8Array(0);
      if (end <= probe.length) return probe.subarray(offset, end);
      const answer = await request(offset, end - offset);
      // A different total means the file was replaced between requests:
      // mixing bytes of two files would parse as garbage.
      if (answer.whole || answer.size !== size) {
        throw new GgufError(
          'HTTP_ERROR',
          `${redact(url)} changed while it was being read (size ${size}, now ${answer.size}).`,
          {
            details: { url: redact(url) },
            hint: 'Run the command again.',
          },
        );
      }
      return answer.bytes.subarray(0, end - offset);
    },
  };
}

interface RangeAnswer {
  bytes: Uint8Array;
  /** Total size of the resource. */
  size: number;
  /** The server ignored Range and sent everything. */
  whole: boolean;
}

/** The bytes of one read received so far, kept across its retries. */
interface ReadProgress {
  parts: Uint8Array[];
  received: number;
  /** The total size the first answer gave. */
  size?: number;
}

function rangeRequester(
  url: string,
  options: HttpSourceOptions,
): (offset: number, length: number) => Promise<RangeAnswer> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const where = redact(url);
  const retries = options.retries ?? 2;
  const delay = options.retryDelayMs ?? 250;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return async (offset, length) => {
    // A read that stalls or drops half way resumes from the byte it reached,
    // so each retry asks only for the rest.
    const progress: ReadProgress = { parts: [], received: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        return await requestOnce(offset, length, progress);
      } catch (error) {
        const transient =
          error instanceof GgufError &&
          error.code === 'HTTP_ERROR' &&
          (error.details.status === undefined || isTransient(Number(error.details.status)));
        if (!transient || attempt >= retries || options.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay * (attempt + 1)));
      }
    }
  };

  async function requestOnce(offset: number, length: number, progress: ReadProgress): Promise<RangeAnswer> {
    const from = offset + progress.received;
    // The watchdog runs from the request until the last body byte, re-armed
    // by every chunk: a server that answers and then goes quiet is cut too.
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(), idleMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), idleMs);
    };
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    try {
      return await exchange(from, offset + length, progress, signal, rearm);
    } catch (error) {
      if (idle.signal.aborted && !options.signal?.aborted) {
        throw new GgufError(
          'HTTP_ERROR',
          `${where} sent nothing for ${idleMs / 1000} s (at byte ${offset + progress.received}).`,
          {
            cause: error,
            details: { url: where, reason: 'stalled', idleTimeoutMs: idleMs },
            hint: 'The server or the network stalled; run the command again.',
          },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async function exchange(
    from: number,
    end: number,
    progress: ReadProgress,
    signal: AbortSignal,
    rearm: () => void,
  ): Promise<RangeAnswer> {
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: { ...options.headers, range: `bytes=${from}-${end - 1}` },
        redirect: 'follow',
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new GgufError('HTTP_ERROR', `Cannot reach ${where}: ${(error as Error).message}.`, {
        cause: error,
        details: { url: where },
        hint: 'Check the network connection and the URL.',
      });
    }
    rearm();
    if (response.status === 416) {
      await response.body?.cancel();
      return { bytes: concat(progress.parts, progress.received), size: from, whole: false };
    }
    if (!response.ok) throw await statusError(response, where);
    if (response.status === 200) {
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > MAX_WHOLE_BODY_BYTES) {
        await response.body?.cancel();
        throw tooLargeWhole(where, declared);
      }
      // The server ignored Range: the whole file again, from its first byte.
      const whole: ReadProgress = { parts: [], received: 0 };
      await readBody(response, where, whole, MAX_WHOLE_BODY_BYTES + 1, rearm, signal);
      if (whole.received > MAX_WHOLE_BODY_BYTES) throw tooLargeWhole(where, whole.received);
      const bytes = concat(whole.parts, whole.received);
      return { bytes, size: bytes.length, whole: true };
    }
    const range = parseContentRange(response.headers.get('content-range'));
    if (range === undefined || range.start !== from) {
      await response.body?.cancel();
      // A different start would splice the wrong bytes into the header.
      throw new GgufError(
        'HTTP_ERROR',
        range === undefined
          ? `${where} answered a range request without a usable Content-Range header.`
          : `${where} answered a request for byte ${from} with bytes from ${range.start}.`,
        { details: { url: where, status: response.status } },
      );
    }
    if (progress.size !== undefined && range.size !== progress.size) {
      await response.body?.cancel();
      throw new GgufError(
        'HTTP_ERROR',
        `${where} changed while it was being read (size ${progress.size}, now ${range.size}).`,
        { details: { url: where }, hint: 'Run the command again.' },
      );
    }
    progress.size = range.size;
    await readBody(response, where, progress, end - (from - progress.received), rearm, signal);
    return { bytes: concat(progress.parts, progress.received), size: range.size, whole: false };
  }
}

function tooLargeWhole(where: string, size: number): GgufError {
  return new GgufError(
    'RANGE_NOT_SUPPORTED',
    `${where} does not support range requests, and the file is too large to download just to inspect.`,
    {
      details: { url: where, size },
      hint: 'Download the file and inspect the local copy.',
    },
  );
}

/**
 * Streams the body into `progress` until it holds `limit` bytes (a server
 * may send more than asked), re-arming the idle watchdog per chunk. A
 * connection that drops half way is a transient HTTP_ERROR; what arrived
 * before it stays in `progress` for the retry.
 */
async function readBody(
  response: Response,
  where: string,
  progress: ReadProgress,
  limit: number,
  rearm: () => void,
  signal: AbortSignal,
): Promise<void> {
  // Node types a fetch body's chunks loosely; a Response body is bytes.
  const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array> | undefined;
  if (!reader) return;
  try {
    while (progress.received < limit) {
      const { done, value } = await reader.read();
      if (done) return;
      rearm();
      const chunk = value.subarray(0, limit - progress.received);
      progress.parts.push(chunk);
      progress.received += chunk.length;
    }
    await reader.cancel();
  } catch (error) {
    if (signal.aborted) throw error;
    throw new GgufError(
      'HTTP_ERROR',
      `The connection to ${where} broke while reading: ${(error as Error).message}.`,
      { cause: error, details: { url: where } },
    );
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}

function parseContentRange(header: string | null): { start: number; size: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? '');
  return match ? { start: Number(match[1]), size: Number(match[3]) } : undefined;
}

async function statusError(response: Response, where: string): Promise<GgufError> {
  await response.body?.cancel();
  const status = response.status;
  if (status === 401 || status === 403) {
    return new GgufError('HTTP_ERROR', `${where} refused access (HTTP ${status}).`, {
      details: { url: where, status },
      hint: 'The file may be gated or private: set HF_TOKEN to a token that can read it.',
    });
  }
  if (status === 404)
    return new GgufError('NOT_FOUND', `${where} does not exist (HTTP 404).`, {
      details: { url: where, status },
    });
  return new GgufError('HTTP_ERROR', `${where} answered HTTP ${status}.`, {
    details: { url: where, status },
  });
}

/** The URL without credentials or query (signed CDN URLs carry secrets there). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return url;
  }
}
