import { describeCause } from '@alki/errors';
import { MAX_MANIFEST_BYTES } from '../descriptor.js';
import { OciError, throwIfAborted } from '../errors.js';
import { Authenticator } from './auth.js';
import type { Credentials } from './credentials.js';
import {
  DEFAULT_RETRY,
  isTransportError,
  abortableSleep,
  withRetry,
  type RetryPolicy,
  type Sleep,
} from './retry.js';
import { watchedFetch, type RequestBody, type Watchdog } from './watched-fetch.js';

export interface RegistryHttpOptions {
  /** `host[:port]`. */
  registry: string;
  credentials?: Credentials;
  /** Use http:// instead of https://. Default: true for localhost, 127.0.0.1 and [::1], false otherwise. */
  plainHttp?: boolean;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /**
   * How long the registry may send nothing (no response headers, no body
   * bytes, or not read what we upload) before the request counts as a broken
   * connection and is retried or resumed. Default 30 s.
   */
  stallTimeoutMs?: number;
  sleep?: Sleep;
  now?: () => number;
  /** Told about each retry, resumed transfer and re-authorization, for --verbose. */
  onEvent?: (message: string) => void;
}

export interface SendInit {
  /** The token scopes the request needs (`repository:<name>:pull`...). */
  scopes: string[];
  headers?: Record<string, string>;
  /** Called once per attempt, so a retried or re-authorized request gets a fresh body. */
  body?: (watchdog: Watchdog) => RequestBody;
  signal?: AbortSignal;
  /** 1 sends once: for a PATCH, which is resumed from the registry's offset instead. Default: the retry policy. */
  attempts?: number;
  /** The stall timeout of this request, when it must wait longer than others (a blob commit). */
  stallTimeoutMs?: number;
}

// The stall timeout when none is given: long enough for a registry busy
// hashing a large upload before it answers, short enough that a dead peer is
// noticed long before undici's own 300 s.
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

function isLocalHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

// The whole body, refused once it passes `limit` (by Content-Length before
// reading, or while reading when that is absent or wrong).
async function readLimited(response: Response, limit: number, tooLarge: () => Error): Promise<Buffer> {
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads and discards a response body so its connection can be reused; never throws. */
export async function drain(response: Response): Promise<string> {
  return response.text().catch(() => '');
}

/**
 * The one HTTP path to a registry: every request goes through `send`, which
 * adds authorization (Basic, or a bearer token fetched before a body is
 * sent), answers a 401 challenge once, turns 401 and 403 into AUTH_* errors,
 * retries 5xx, 429 and broken connections, and aborts a request the registry
 * stalls (StallTimeout).
 */
export class RegistryHttp {
  readonly registry: string;
  readonly baseUrl: string;
  readonly auth: Authenticator;
  readonly stallTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly sleep: Sleep;
  readonly now: () => number;
  readonly onEvent: (message: string) => void;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryHttpOptions) {
    this.registry = options.registry;
    const plain = options.plainHttp ?? isLocalHost(options.registry);
    this.baseUrl = `${plain ? 'http' : 'https'}://${options.registry}`;
    this.fetchImpl = options.fetch ?? fetch;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.auth = new Authenticator({
      credentials: options.credentials,
      // The token server gets the same stall guard as the registry.
      fetch: (input, init) =>
        watchedFetch(this.fetchImpl, new Request(input).url, init ?? {}, this.stallTimeoutMs),
      now: this.now,
      registry: options.registry,
    });
  }

  /** The URL of `rest` under `/v2/<repository>/`. */
  repoUrl(repository: string, rest: string): string {
    return `${this.baseUrl}/v2/${repository}/${rest}`;
  }

  /** Resolves `location` (a Location header, absolute or not) against the registry. */
  resolve(location: string): string {
    return new URL(location, this.baseUrl).toString();
  }

  /**
   * Sends one request with auth and retries, and returns the response for
   * the caller to read: any status but 401 and 403, which become AUTH_*
   * errors. A 5xx or 429 comes back only after the retries ran out.
   */
  async send(method: string, url: string, init: SendInit): Promise<Response> {
    const target = this.resolve(url);
    // Fetch a token before sending a body: a 401 after streaming 1 GB wastes it.
    let authorization =
      this.auth.cachedHeader(init.scopes) ??
      (this.auth.knowsTokenRealm ? await this.auth.authorize(init.scopes) : undefined);
    const attempt = () => this.attempt(method, target, init, authorization);
    const retry = {
      policy: init.attempts ? { ...this.retry, attempts: init.attempts } : this.retry,
      sleep: this.sleep,
      now: this.now,
      signal: init.signal,
      onRetry: (e: { attempt: number; delayMs: number; reason: string }) =>
        this.onEvent(`retrying ${method} ${target} in ${e.delayMs} ms (${e.reason})`),
    };
    let response = await withRetry(target, attempt, retry);
    if (response.status === 401) {
      const retried = Boolean(authorization);
      authorization = await this.auth.authorize(init.scopes, response);
      await drain(response);
      response = await withRetry(target, attempt, retry);
      if (response.status === 401) {
        await drain(response);
        throw new OciError(
          'AUTH_FAILED',
          `${this.registry} refused the credentials for ${method} ${new URL(target).pathname}${retried ? ' after a fresh token' : ''}.`,
          {
            hint: 'Check the user name and password, and that the account may access this repository.',
            details: { url: target, scopes: init.scopes },
          },
        );
      }
    }
    if (response.status === 403) {
      await drain(response);
      throw new OciError(
        'AUTH_FAILED',
        `${this.registry} denied ${method} ${new URL(target).pathname} (HTTP 403).`,
        {
          hint: 'The account lacks permission for this repository.',
          details: { url: target, scopes: init.scopes },
        },
      );
    }
    return response;
  }

  /**
   * Sends a request whose answer is small (a manifest, a tag list, a
   * referrers index) and reads all of it. A body that breaks off or stalls
   * is asked for again, up to the retry policy's attempts and with its
   * back-off, then UNREACHABLE; one over `limit` bytes is refused unread
   * (INVALID_MANIFEST). An answer that is not 2xx comes back unread, for the
   * caller to judge.
   */
  async sendAndRead(
    method: string,
    url: string,
    init: SendInit,
    limit = MAX_MANIFEST_BYTES,
  ): Promise<{ response: Response; bytes?: Buffer }> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.send(method, url, init);
      if (!response.ok || !response.body) return { response };
      try {
        return {
          response,
          bytes: await readLimited(response, limit, () => this.tooLarge(method, url, limit)),
        };
      } catch (error) {
        throwIfAborted(init.signal);
        if (!isTransportError(error)) throw error;
        const path = new URL(this.resolve(url)).pathname;
        if (attempt >= this.retry.attempts)
          throw new OciError(
            'UNREACHABLE',
            `The answer of ${this.registry} to ${method} ${path} broke off ${attempt} times: ${describeCause(error)}.`,
            {
              cause: error,
              hint: 'Check the network and the registry; the stall timeout is --stall-timeout (seconds).',
              details: { url: this.resolve(url), attempts: attempt },
            },
          );
        const delayMs = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        this.onEvent(
          `the answer to ${method} ${path} broke off (${describeCause(error)}); asking again in ${delayMs} ms`,
        );
        await this.sleep(delayMs, init.signal).catch(() => throwIfAborted(init.signal));
      }
    }
  }

  private tooLarge(method: string, url: string, limit: number): OciError {
    return new OciError(
      'INVALID_MANIFEST',
      `${this.registry} answered ${method} ${new URL(this.resolve(url)).pathname} with more than ${limit} bytes, which is not read into memory.`,
      { details: { url: this.resolve(url), limit } },
    );
  }

  private attempt(
    method: string,
    target: string,
    init: SendInit,
    authorization: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (authorization) headers.authorization = authorization;
    return watchedFetch(
      this.fetchImpl,
      target,
      { method, headers, signal: init.signal },
      init.stallTimeoutMs ?? this.stallTimeoutMs,
      init.body,
    );
  }

  /** REGISTRY_ERROR for a status the caller did not expect, with the registry's own error text. */
  async unexpected(response: Response, what: string): Promise<OciError> {
    const text = (await drain(response)).slice(0, 500);
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      if (parsed.errors?.length) detail = parsed.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // Not the spec's error JSON: keep the text.
    }
    return new OciError(
      'REGISTRY_ERROR',
      `${this.registry} failed to ${what}: HTTP ${response.status}${detail ? ` (${detail})` : ''}.`,
      { details: { status: response.status, url: response.url, body: text } },
    );
  }

  /** The response's Location, resolved; REGISTRY_ERROR when it has none. */
  location(response: Response): string {
    const location = response.headers.get('location');
    if (!location)
      throw new OciError(
        'REGISTRY_ERROR',
        `${this.registry} answered an upload request without a Location.`,
        {
          details: { url: response.url },
        },
      );
    return this.resolve(location);
  }
}
