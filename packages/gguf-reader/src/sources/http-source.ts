import { GgufError } from '../errors.js';
import type { ByteSource } from '../types.js';

export interface HttpSourceOptions {
  /** Extra request headers, e.g. `{ authorization: 'Bearer hf_...' }`; sent on every request. */
  headers?: Record<string, string>;
  /** Injected fetch (proxies, tests). Defaults to the global fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Extra attempts after a connection failure or a 5xx/429 answer. Default 2. */
  retries?: number;
  /** Wait before retry n is n times this. Default 250 ms. */
  retryDelayMs?: number;
}

// The first request asks for this much: enough for the header of most
// models, so a remote inspect is usually one or two requests.
const PROBE_BYTES = 64 * 1024;
// A server that ignores Range sends the whole file; below this size we keep
// it in memory rather than refusing.
const MAX_WHOLE_BODY_BYTES = 64 * 1024 * 1024;

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
    return { size: whole.length, read: async (offset, length) => whole.subarray(offset, offset + length) };
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

function rangeRequester(
  url: string,
  options: HttpSourceOptions,
): (offset: number, length: number) => Promise<RangeAnswer> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const where = redact(url);
  const retries = options.retries ?? 2;
  const delay = options.retryDelayMs ?? 250;
  return async (offset, length) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await requestOnce(offset, length);
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

  async function requestOnce(offset: number, length: number): Promise<RangeAnswer> {
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: { ...options.headers, range: `bytes=${offset}-${offset + length - 1}` },
        redirect: 'follow',
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new GgufError('HTTP_ERROR', `Cannot reach ${where}: ${(error as Error).message}.`, {
        cause: error,
        details: { url: where },
        hint: 'Check the network connection and the URL.',
      });
    }
    if (response.status === 416) return { bytes: new Uint8Array(0), size: offset, whole: false };
    if (!response.ok) throw await statusError(response, where);
    if (response.status === 200) {
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > MAX_WHOLE_BODY_BYTES) {
        await response.body?.cancel();
        throw new GgufError(
          'RANGE_NOT_SUPPORTED',
          `${where} does not support range requests, and the file is too large to download just to inspect.`,
          {
            details: { url: where, size: declared },
            hint: 'Download the file and inspect the local copy.',
          },
        );
      }
      const bytes = await readBody(response, where);
      return { bytes, size: bytes.length, whole: true };
    }
    const size = totalFromContentRange(response.headers.get('content-range'));
    if (size === undefined) {
      await response.body?.cancel();
      throw new GgufError(
        'HTTP_ERROR',
        `${where} answered a range request without a usable Content-Range header.`,
        {
          details: { url: where, status: response.status },
        },
      );
    }
    return { bytes: await readBody(response, where), size, whole: false };
  }
}

/** The body, or a transient HTTP_ERROR when the connection drops half way. */
async function readBody(response: Response, where: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new GgufError(
      'HTTP_ERROR',
      `The connection to ${where} broke while reading: ${(error as Error).message}.`,
      {
        cause: error,
        details: { url: where },
      },
    );
  }
}

function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}

function totalFromContentRange(header: string | null): number | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? '');
  return match ? Number(match[3]) : undefined;
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
