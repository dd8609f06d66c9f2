import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describeCause } from '@alki/errors';
import { RuntimeError } from '../errors.js';
import { abortReason, isFailureLine } from '../native/abort-reason.js';
import type { ChatMessage, GenerationRequest, GenerationResult, ToolCall } from '../openai/protocol.js';
import type { Engine } from './engine.js';
import { serveSettingsArgs, type ServeSettings } from './llama-server-args.js';
import { mergeToolCall, type ToolCallDelta } from './tool-calls.js';
import { fetchUpstream } from './upstream-fetch.js';

export interface LlamaServerEngineOptions {
  /** Path of the llama-server binary (requireLlamaTool('llama-server') finds one). */
  binary: string;
  /** The model and runtime settings; host and port are where llama-server itself listens (port 0: any free one). */
  settings: ServeSettings;
  /** How long the model may take to load. Default 120 s. */
  startTimeoutMs?: number;
  /** llama-server's own output lines, for --verbose. */
  log?: (line: string) => void;
  /** Called if llama-server exits while it should be serving. */
  onExit?: (reason: string) => void;
  spawnProcess?: typeof spawn;
  signal?: AbortSignal;
}

const OUTPUT_TAIL_LINES = 40;

/** Reads an SSE body and yields the JSON of each `data:` event until `[DONE]`. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        yield JSON.parse(data) as Record<string, unknown>;
      }
    }
  }
}

/** One streamed choice of llama-server's OpenAI endpoints. */
interface UpstreamChoice {
  delta?: { content?: string | null; tool_calls?: ToolCallDelta[] };
  text?: string;
  logprobs?: { content?: unknown; tokens?: unknown } | null;
  finish_reason?: string | null;
}

// llama-server's error types (tools/server/server-common.cpp, error_type_to_str).
function upstreamError(status: number, body: { error?: { message?: string; type?: string } }): RuntimeError {
  const message = body.error?.message ?? `llama-server answered ${status}`;
  if (body.error?.type === 'exceed_context_size_error')
    return new RuntimeError('CONTEXT_EXCEEDED', message, { details: { param: 'messages' } });
  if (status === 404 && body.error?.type === 'not_found_error')
    return new RuntimeError('MODEL_NOT_FOUND', message, { details: { param: 'model' } });
  if (status >= 400 && status < 500) return new RuntimeError('REQUEST_INVALID', message);
  return new RuntimeError('UPSTREAM_FAILED', `llama-server failed: ${message}`, { details: { status } });
}

// A message as llama-server's OpenAI endpoint takes it: text as a string,
// and a message with images as text and image_url parts in their order, the
// data URLs passed on as the client sent them (tools/server/server-common.cpp,
// oaicompat_chat_params_parse).
function upstreamMessage(message: ChatMessage): Record<string, unknown> {
  if (message.toolCalls)
    return { role: message.role, content: message.content, tool_calls: message.toolCalls };
  if (message.toolCallId !== undefined)
    return { role: message.role, content: message.content, tool_call_id: message.toolCallId };
  if (!message.parts) return { role: message.role, content: message.content };
  return {
    role: message.role,
    content: message.parts.map((part) =>
      part.type === 'text'
        ? { type: 'text', text: part.text }
        : { type: 'image_url', image_url: { url: part.image.url } },
    ),
  };
}

/**
 * The llama-server engine: starts llama-server with the bundle's settings
 * (plus `--metrics` and the model alias), waits until /health answers 200,
 * and forwards generations to its OpenAI endpoints, streaming always so the
 * front can pass text on as it comes.
 *
 * @example
 * const engine = await startLlamaServerEngine({ binary: requireLlamaTool('llama-server'), settings });
 */
export async function startLlamaServerEngine(options: LlamaServerEngineOptions): Promise<Engine> {
  const { settings } = options;
  // With port 0, llama-server binds a free port and logs it (tools/server/server-http.cpp, bind_to_any_port).
  let base: string | undefined =
    settings.port === 0
      ? undefined
      : `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
  // --no-webui is the only addition to the deploy command line (which has
  // --metrics: the front merges llama-server's metrics into its own /metrics).
  const args = [...serveSettingsArgs(settings), '--no-webui'];
  // llama-server listens on a loopback port any local user could reach
  // around the front's key check, so it takes a key of its own that only the
  // front knows. It travels in the environment (llama-server reads
  // LLAMA_API_KEY, common/arg.cpp), not on the command line, which `ps` shows.
  const internalKey = randomBytes(32).toString('hex');
  const auth = { Authorization: `Bearer ${internalKey}` };
  const tail: string[] = [];
  // The first line that says why llama-server failed; a backtrace may follow
  // it for longer than the tail keeps.
  let failure: string | undefined;
  let child: ChildProcess;
  try {
    child = (options.spawnProcess ?? spawn)(options.binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LLAMA_API_KEY: internalKey },
    });
  } catch (error) {
    throw new RuntimeError(
      'ENGINE_UNAVAILABLE',
      `llama-server could not be started: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      base ??= /listening on (http:\/\/\S+)/.exec(line)?.[1];
      if (!failure && isFailureLine(line)) failure = line.trim();
      tail.push(line);
      options.log?.(line);
    }
    if (tail.length > OUTPUT_TAIL_LINES) tail.splice(0, tail.length - OUTPUT_TAIL_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let stopping = false;
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      exitReason = `llama-server could not run: ${error.message}`;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitReason ??= `llama-server exited (${signal ?? `code ${code}`})`;
      if (!stopping) options.onExit?.(exitReason);
      resolve();
    });
  });

  async function stop(): Promise<void> {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  // llama-server answers 503 on /health while it loads the model, 200 once ready.
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    if (exitReason) {
      const reason = failure ?? abortReason(tail.join('\n'));
      throw new RuntimeError(
        'SERVER_START_FAILED',
        `${exitReason} before it was ready${reason ? `: ${reason}` : '.'}`,
        {
          // A stated reason (an assert, a load error) is the model's fault; silence is the machine's.
          category: failure ? 'input' : 'environment',
          hint: 'Run `alki validate` on the model, or serve with --verbose for all of its output.',
          details: { args, output: tail.slice(-12) },
        },
      );
    }
    if (options.signal?.aborted) {
      await stop();
      throw options.signal.reason;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new RuntimeError(
        'SERVER_START_FAILED',
        `llama-server did not become healthy within ${options.startTimeoutMs ?? 120_000} ms; its last line: ${tail.at(-1) ?? '(none)'}`,
        { details: { args, output: tail.slice(-12) } },
      );
    }
    try {
      if (!base) throw new Error('not listening yet');
      const response = await fetch(`${base}/health`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const upstream = base;
  const props = (await (
    await fetchUpstream(`${upstream}/props`, { headers: auth })
  )
    .json()
    .catch(() => ({}))) as {
    default_generation_settings?: { n_ctx?: number };
  };
  const contextSize = props.default_generation_settings?.n_ctx ?? settings.ctx;

  async function generate(
    request: GenerationRequest,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    if (exitReason) throw new RuntimeError('UPSTREAM_FAILED', exitReason);
    const body: Record<string, unknown> = {
      // Every field the front does not read goes to llama-server as the client sent it.
      ...request.extra,
      model: settings.modelId,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      seed: request.seed,
      stop: request.stop.length ? request.stop : undefined,
    };
    if (request.kind === 'chat') body.messages = request.messages?.map(upstreamMessage);
    else body.prompt = request.prompt;
    let response: Response;
    try {
      response = await fetchUpstream(
        `${upstream}${request.kind === 'chat' ? '/v1/chat/completions' : '/v1/completions'}`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...auth },
          body: JSON.stringify(body),
          signal,
        },
      );
    } catch (error) {
      if (signal.aborted) throw error;
      throw new RuntimeError('UPSTREAM_FAILED', `llama-server is unreachable: ${describeCause(error)}`, {
        cause: error,
      });
    }
    if (response.status !== 200 || !response.body) {
      throw upstreamError(
        response.status,
        (await response.json().catch(() => ({}))) as { error?: { message?: string; type?: string } },
      );
    }
    let text = '';
    let finishReason: string | undefined;
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    const toolCalls: ToolCall[] = [];
    const logprobs: unknown[] = [];
    try {
      for await (const event of sseEvents(response.body)) {
        if (event.error) throw upstreamError(500, event);
        const choice = (event.choices as UpstreamChoice[] | undefined)?.[0];
        const piece = choice?.delta?.content ?? choice?.text ?? '';
        if (piece) {
          text += piece;
          onText(piece);
        }
        for (const delta of choice?.delta?.tool_calls ?? []) mergeToolCall(toolCalls, delta);
        const tokens = choice?.logprobs?.content ?? choice?.logprobs?.tokens;
        if (Array.isArray(tokens)) logprobs.push(...(tokens as unknown[]));
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (event.usage) usage = event.usage;
      }
    } catch (error) {
      if (signal.aborted || error instanceof RuntimeError) throw error;
      throw new RuntimeError(
        'UPSTREAM_FAILED',
        `llama-server broke off its answer: ${describeCause(error)}`,
        { cause: error },
      );
    }
    return {
      text,
      promptTokens: usage?.prompt_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? 0,
      finishReason:
        finishReason === 'length'
          ? 'length'
          : finishReason === 'tool_calls' || toolCalls.length
            ? 'tool_calls'
            : 'stop',
      ...(toolCalls.length ? { toolCalls } : {}),
      ...(logprobs.length ? { logprobs } : {}),
    };
  }

  return {
    name: 'llama-server',
    modelId: settings.modelId,
    contextSize,
    ...(settings.projectorPath !== undefined ? { images: true as const } : {}),
    generate,
    ...(settings.embeddings
      ? {
          async embed(input: string[], signal: AbortSignal) {
            if (exitReason) throw new RuntimeError('UPSTREAM_FAILED', exitReason);
            const response = await fetchUpstream(`${upstream}/v1/embeddings`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', ...auth },
              body: JSON.stringify({ model: settings.modelId, input }),
              signal,
            });
            const body = (await response.json().catch(() => ({}))) as {
              data?: Array<{ index: number; embedding: number[] }>;
              usage?: { prompt_tokens?: number };
              error?: { message?: string; type?: string };
            };
            if (response.status !== 200 || !body.data) throw upstreamError(response.status, body);
            const ordered = [...body.data].sort((a, b) => a.index - b.index);
            return {
              embeddings: ordered.map((d) => d.embedding),
              promptTokens: body.usage?.prompt_tokens ?? 0,
            };
          },
        }
      : {}),
    healthy: () => exitReason === undefined,
    pid: child.pid,
    async metricsText() {
      const response = await fetchUpstream(`${upstream}/metrics`, { headers: auth });
      return response.status === 200 ? response.text() : '';
    },
    close: stop,
  };
}
