import { AgentError } from '../errors.js';

export interface HealthCheckOptions {
  /** The server's base URL, `http://127.0.0.1:8080`. */
  url: string;
  /** The whole check (the server loading, /health, one completion) must pass within this. */
  deadlineMs: number;
  /** Between two /health polls. */
  pollMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  /**
   * Says why the server can no longer pass (it exited), or undefined while
   * it may: the check then fails at once instead of at the deadline.
   */
  gone?: () => string | undefined;
  /** A key the server's API takes (`alki serve --api-key-file`), sent as `Authorization: Bearer`. */
  apiKey?: string;
}

export interface HealthCheckResult {
  /** From the start of the check to /health answering 200. */
  healthyAfterMs: number;
  /** From the start of the check to the end of the completion. */
  totalMs: number;
  /** Tokens the completion generated. */
  completionTokens: number;
}

// A short, fixed request: it proves the model loads, takes a prompt and
// generates, and costs a few tokens on the smallest device.
const HEALTH_COMPLETION = {
  messages: [{ role: 'user', content: 'Reply with one word.' }],
  max_tokens: 4,
  temperature: 0,
};

function failed(url: string, why: string, details: Record<string, unknown> = {}): AgentError {
  return new AgentError('HEALTH_CHECK_FAILED', `The server at ${url} failed its health check: ${why}.`, {
    hint: 'Its output is in server.log in the agent directory (or journalctl -u for a systemd unit).',
    details: { url, ...details },
  });
}

/**
 * Passes when the server answers GET /health with 200 and then generates at
 * least one token for a real chat completion, all before the deadline.
 * /health is polled (a loading server refuses connections or answers 503);
 * a completion that fails is not retried: a server that loads but cannot
 * generate fails here.
 *
 * @example
 * await checkHealth({ url: 'http://127.0.0.1:8080', deadlineMs: 120_000 });
 */
export async function checkHealth(options: HealthCheckOptions): Promise<HealthCheckResult> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const deadline = started + options.deadlineMs;
  const remaining = () => Math.max(1, Math.ceil(deadline - now()));
  const timeout = () =>
    options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(remaining())])
      : AbortSignal.timeout(remaining());
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  let last = 'it did not answer';
  for (;;) {
    options.signal?.throwIfAborted();
    const gone = options.gone?.();
    if (gone) throw failed(options.url, gone);
    try {
      const response = await fetchImpl(`${options.url}/health`, { headers: auth, signal: timeout() });
      await response.arrayBuffer();
      if (response.status === 200) break;
      last = `/health answered ${response.status}`;
    } catch (error) {
      options.signal?.throwIfAborted();
      // A poll cut by the deadline says less than the answer before it.
      if ((error as Error).name !== 'TimeoutError' || !last.startsWith('/health answered'))
        last = `/health: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`;
    }
    if (now() >= deadline)
      throw failed(options.url, `${last} within ${options.deadlineMs / 1000} s`, {
        deadlineMs: options.deadlineMs,
      });
    await sleep(Math.min(options.pollMs ?? 200, remaining()));
  }
  const healthyAfterMs = now() - started;
  let body: { choices?: Array<{ message?: { content?: unknown } }>; usage?: { completion_tokens?: unknown } };
  try {
    const response = await fetchImpl(`${options.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(HEALTH_COMPLETION),
      signal: timeout(),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw failed(options.url, `a completion answered ${response.status}: ${text.slice(0, 300)}`, {
        status: response.status,
      });
    body = JSON.parse(text) as typeof body;
  } catch (error) {
    options.signal?.throwIfAborted();
    if (error instanceof AgentError) throw error;
    throw failed(
      options.url,
      `a completion did not finish before the deadline (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const tokens = body.usage?.completion_tokens;
  if (typeof body.choices?.[0]?.message?.content !== 'string' || typeof tokens !== 'number' || tokens < 1)
    throw failed(options.url, 'a completion came back without generated text');
  return { healthyAfterMs, totalMs: now() - started, completionTokens: tokens };
}
