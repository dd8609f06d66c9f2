import type { HubConfig } from './config.js';
import { HubError } from './errors.js';
import { toHubError, type RequestContext } from './hub-errors.js';

/**
 * The fetch handed to @huggingface/hub for one operation: it adds the abort
 * signal (the library takes none) and remembers the hub's X-Error-Code header
 * of the last failed answer, which the library's HubApiError drops.
 */
export class Transport {
  lastErrorCode: string | null = null;
  readonly fetch: typeof fetch;

  constructor(
    private readonly config: HubConfig,
    readonly ctx: RequestContext,
  ) {
    this.fetch = async (input, init) => {
      // Each metadata request gets the timeout on top of the caller's signal.
      const timeout = AbortSignal.timeout(config.timeoutMs);
      const signal = config.signal ? AbortSignal.any([config.signal, timeout]) : timeout;
      const response = await config.fetch(input, { ...init, signal });
      if (!response.ok) this.lastErrorCode = response.headers.get('x-error-code');
      return response;
    };
  }

  /** Runs a library call, turning whatever it throws into a HubError. */
  async call<T>(
    run: (fetch: typeof globalThis.fetch) => Promise<T>,
    ctx: Partial<RequestContext> = {},
  ): Promise<T> {
    this.lastErrorCode = null;
    try {
      return await run(this.fetch);
    } catch (error) {
      throw toHubError(error, { ...this.ctx, ...ctx }, this.lastErrorCode, this.config.signal);
    }
  }
}

/** Refuses a token before any request: @huggingface/hub only accepts `hf_...` user tokens. */
export function checkToken(token: string | undefined): void {
  if (token !== undefined && !token.startsWith('hf_')) {
    throw new HubError('INVALID_TOKEN', 'The Hugging Face token does not start with "hf_".', {
      category: 'input',
      hint: 'Set HF_TOKEN (or pass --token) to a user access token from https://huggingface.co/settings/tokens.',
    });
  }
}
