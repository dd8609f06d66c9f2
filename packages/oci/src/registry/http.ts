import { OciError } from '../errors.js';
import { Authenticator } from './auth.js';
import type { Credentials } from './credentials.js';
import { DEFAULT_RETRY, realSleep, StallTimeout, withRetry, type RetryPolicy, type Sleep } from './retry.js';

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

/** A request body: bytes, or chunks pulled as the socket drains. Built fresh for each attempt. */
export type RequestBody = Buffer | string | ReadableStream<Uint8Array>;

export interface SendInit {
  /** The token scopes the request needs (`repository:<name>:pull`...). */
  scopes: string[];
  headers?: Record<string, string>;
  /** Called once per attempt, so a retried or re-authorized request gets a fresh body. */
  body?: (watchdog: Watchdog) => RequestBody;
  signal?: AbortSignal;
  /** 1 sends once: for a PATCH, which is resumed from the registry's offset instead. Default: the retry policy. */
  attempts?: number;
}

/** Resets a request's stall timer; a streamed body calls it for each chunk the socket takes. */
export interface Watchdog {
  touch(): void;
}

// The stall timeout when none is given: long enough for a registry busy
// hashing a large upload before it answers, short enough that a dead peer is
// noticed long before undici's own 300 s.
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

function isLocalHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
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
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.auth = new Authenticator({
      credentials: options.credentials,
      fetch: this.fetchImpl,
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

  // One fetch, aborted with a StallTimeout when the registry sends no
  // headers (or takes no body bytes) for the stall timeout. The timer stops
  // at the headers: the body's reader watches its own stalls (blob-download).
  private async attempt(
    method: string,
    target: string,
    init: SendInit,
    authorization: string | undefined,
  ): Promise<Response> {
    const stall = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // A body stream may still pull a chunk after the response came; then there is nothing left to watch.
    let settled = false;
    const watchdog: Watchdog = {
      touch: () => {
        if (settled) return;
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(new StallTimeout(this.stallTimeoutMs)), this.stallTimeoutMs);
      },
    };
    watchdog.touch();
    const headers: Record<string, string> = { ...init.headers };
    if (authorization) headers.authorization = authorization;
    const body = init.body?.(watchdog);
    try {
      return await this.fetchImpl(target, {
        method,
        headers,
        body,
        signal: init.signal ? AbortSignal.any([init.signal, stall.signal]) : stall.signal,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      // fetch rejects with the abort reason: our StallTimeout, or the caller's.
      if (stall.signal.aborted && !init.signal?.aborted) throw stall.signal.reason as Error;
      throw error;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
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
