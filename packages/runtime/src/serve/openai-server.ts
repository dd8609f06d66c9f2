import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createSecureContext as tlsContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE } from '@alki/metrics';
import { RuntimeError } from '../errors.js';
import { createServerMetrics, type ServerMetrics } from '../metrics/server-metrics.js';
import {
  httpStatusFor,
  openAiErrorBody,
  parseEmbeddingRequest,
  parseGenerationRequest,
  requestImages,
  type GenerationRequest,
  type GenerationResult,
} from '../openai/protocol.js';
import { createKeyCheck, pathNeedsKey, type AccessPolicy } from './access.js';
import type { Engine } from './engine.js';
import { readJsonBody, sendJson, startEventStream } from './http-io.js';

export interface OpenAiServerOptions {
  engine: Engine;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Largest request body accepted, in bytes. Default 4 MiB, or 32 MiB when the engine reads images. */
  maxBodyBytes?: number;
  /** One line per request and per failure, for the CLI's --verbose. */
  log?: (line: string) => void;
  now?: () => number;
  /** API keys and open probes; by default no key is needed. */
  access?: AccessPolicy;
  /** Serve HTTPS with this PEM certificate (chain) and private key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The metrics it records into, for a caller that reads them too (the dashboard); a fresh set by default. */
  metrics?: ServerMetrics;
  /** More GET routes by exact path (the dashboard's), tried after the built-in ones. */
  routes?: ReadonlyMap<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>>;
}

export interface RunningServer {
  /** `http://host:port` (`https://` with TLS), for clients. */
  url: string;
  port: number;
  /**
   * Stops accepting connections, lets requests in flight finish, then closes
   * the engine. Resolves when everything is closed.
   */
  close(): Promise<void>;
}

/** How long an idle client connection is kept open. */
const KEEP_ALIVE_MS = 65_000;

const GENERATION_ROUTES = { '/v1/chat/completions': 'chat', '/v1/completions': 'completion' } as const;
const EMBEDDINGS_ROUTE = '/v1/embeddings';

/** A signal that aborts when the client closes the connection before the answer is complete. */
function abortOnHangUp(response: ServerResponse): AbortSignal {
  const abort = new AbortController();
  response.on('close', () => {
    if (!response.writableFinished) abort.abort(new Error('client closed the connection'));
  });
  return abort.signal;
}
const KNOWN_ROUTES = new Set([
  '/health',
  '/metrics',
  '/v1/models',
  EMBEDDINGS_ROUTE,
  ...Object.keys(GENERATION_ROUTES),
]);

/**
 * Serves an engine over the OpenAI-compatible HTTP API: /v1/chat/completions
 * and /v1/completions (streaming included), /v1/models, /health and a
 * Prometheus /metrics.
 *
 * @example
 * const server = await startOpenAiServer({ engine, host: '127.0.0.1', port: 8080 });
 * process.once('SIGTERM', () => void server.close());
 */
export async function startOpenAiServer(options: OpenAiServerOptions): Promise<RunningServer> {
  const { engine } = options;
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? (() => undefined);
  // Images come inline, base64: a photo is several MiB (OpenAI takes up to 20 MB an image).
  const maxBodyBytes = options.maxBodyBytes ?? (engine.images === true ? 32 : 4) * 1024 * 1024;
  const metrics = options.metrics ?? createServerMetrics();
  const access: AccessPolicy = options.access ?? { apiKeys: [] };
  const keyAccepted = createKeyCheck(access.apiKeys);
  const created = Math.floor(Date.now() / 1000);
  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const modelObject = { id: engine.modelId, object: 'model', created, owned_by: 'alki' };

  async function handleEmbeddings(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readJsonBody(request, maxBodyBytes);
    if (!engine.embed)
      throw new RuntimeError(
        'REQUEST_INVALID',
        'This server does not serve embeddings; start it with `alki serve --embeddings`.',
        { details: { param: 'input' } },
      );
    const { input, encodingFormat } = parseEmbeddingRequest(body, [engine.modelId]);
    const { embeddings, promptTokens } = await engine.embed(input, abortOnHangUp(response));
    sendJson(response, 200, {
      object: 'list',
      data: embeddings.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding:
          encodingFormat === 'base64'
            ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
            : vector,
      })),
      model: engine.modelId,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
    metrics.promptTokens.inc({}, promptTokens);
  }

  async function handleGeneration(
    kind: 'chat' | 'completion',
    route: string,
    request: IncomingMessage,
    response: ServerResponse,
    started: number,
  ): Promise<void> {
    const parsed = parseGenerationRequest(kind, await readJsonBody(request, maxBodyBytes), [engine.modelId]);
    if (engine.images !== true && requestImages(parsed).length > 0) {
      throw new RuntimeError(
        'REQUEST_INVALID',
        engine.images ??
          'This model reads only text: it has no vision projector (mmproj), so it cannot take images.',
        { details: { param: 'messages' } },
      );
    }
    // A client that hangs up stops its generation; the sequence is freed for others.
    const signal = abortOnHangUp(response);
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    let firstText = true;
    const onFirstText = () => {
      if (firstText) metrics.firstToken.observe((now() - started) / 1000, { route });
      firstText = false;
    };
    let result: GenerationResult;
    if (!parsed.stream) {
      result = await engine.generate(parsed, onFirstText, signal);
      sendJson(response, 200, finalBody(kind, id, createdAt, parsed, result));
    } else {
      // Errors before the first byte (a prompt over the context) still get a
      // proper 4xx status, so the stream opens only with the first text.
      let stream: ReturnType<typeof startEventStream> | undefined;
      const open = () => {
        if (!stream) {
          stream = startEventStream(response);
          if (kind === 'chat')
            stream.send(chunk(kind, id, createdAt, { role: 'assistant', content: '' }, null));
        }
        return stream;
      };
      try {
        result = await engine.generate(
          parsed,
          (text) => {
            onFirstText();
            if (text)
              open().send(chunk(kind, id, createdAt, kind === 'chat' ? { content: text } : text, null));
          },
          signal,
        );
      } catch (error) {
        if (!stream) throw error;
        stream.send(openAiErrorBody(error));
        response.end();
        throw error;
      }
      const events = open();
      // Function calls arrive whole, in one chunk before the last, each with its index.
      if (kind === 'chat' && result.toolCalls)
        events.send(
          chunk(
            kind,
            id,
            createdAt,
            { tool_calls: result.toolCalls.map((call, index) => ({ index, ...call })) },
            null,
          ),
        );
      events.send(
        chunk(kind, id, createdAt, kind === 'chat' ? {} : '', result.finishReason, result.logprobs),
      );
      if (parsed.includeUsage)
        events.send({
          id,
          object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
          created: createdAt,
          model: engine.modelId,
          choices: [],
          usage: usage(result),
        });
      events.end();
    }
    metrics.promptTokens.inc({}, result.promptTokens);
    metrics.completionTokens.inc({}, result.completionTokens);
  }

  function chunk(
    kind: 'chat' | 'completion',
    id: string,
    createdAt: number,
    delta: Record<string, unknown> | string,
    finishReason: string | null,
    logprobs: unknown[] | undefined = undefined,
  ) {
    const probabilities = logprobs ? { content: logprobs } : null;
    const choice =
      kind === 'chat'
        ? { index: 0, delta, logprobs: probabilities, finish_reason: finishReason }
        : { index: 0, text: delta, logprobs: probabilities, finish_reason: finishReason };
    return {
      id,
      object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: createdAt,
      model: engine.modelId,
      choices: [choice],
    };
  }

  function finalBody(
    kind: 'chat' | 'completion',
    id: string,
    createdAt: number,
    _request: GenerationRequest,
    result: GenerationResult,
  ) {
    const logprobs = result.logprobs ? { content: result.logprobs } : null;
    const choice =
      kind === 'chat'
        ? {
            index: 0,
            message: {
              role: 'assistant',
              // A message that only calls functions has no content (OpenAI: null).
              content: result.toolCalls && !result.text ? null : result.text,
              ...(result.toolCalls ? { tool_calls: result.toolCalls } : {}),
            },
            logprobs,
            finish_reason: result.finishReason,
          }
        : { index: 0, text: result.text, logprobs, finish_reason: result.finishReason };
    return {
      id,
      object: kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: createdAt,
      model: engine.modelId,
      choices: [choice],
      usage: usage(result),
    };
  }

  function usage(result: GenerationResult) {
    return {
      prompt_tokens: result.promptTokens,
      completion_tokens: result.completionTokens,
      total_tokens: result.promptTokens + result.completionTokens,
    };
  }

  async function route(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    started: number,
  ): Promise<void> {
    const method = request.method ?? 'GET';
    // The key is checked before anything else, so a caller without one learns
    // nothing, not even which routes exist.
    if (pathNeedsKey(access, path) && !keyAccepted(request.headers))
      throw new RuntimeError(
        'UNAUTHORIZED',
        request.headers.authorization || request.headers['x-api-key']
          ? 'The API key is not valid for this server.'
          : 'This server needs an API key: send it as `Authorization: Bearer <key>`.',
      );
    if (draining)
      throw new RuntimeError('SHUTTING_DOWN', 'The server is shutting down; retry on another replica.');
    if (path in GENERATION_ROUTES) {
      if (method !== 'POST') throw new RuntimeError('METHOD_NOT_ALLOWED', `${path} takes POST.`);
      return handleGeneration(
        GENERATION_ROUTES[path as keyof typeof GENERATION_ROUTES],
        path,
        request,
        response,
        started,
      );
    }
    if (path === EMBEDDINGS_ROUTE) {
      if (method !== 'POST') throw new RuntimeError('METHOD_NOT_ALLOWED', `${path} takes POST.`);
      return handleEmbeddings(request, response);
    }
    if (method !== 'GET' && method !== 'HEAD')
      throw new RuntimeError('METHOD_NOT_ALLOWED', `${path} takes GET.`);
    if (path === '/health') {
      const ok = engine.healthy?.() ?? true;
      return sendJson(response, ok ? 200 : 503, {
        status: ok ? 'ok' : 'engine stopped',
        engine: engine.name,
        model: engine.modelId,
      });
    }
    if (path === '/v1/models') return sendJson(response, 200, { object: 'list', data: [modelObject] });
    if (path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (id !== engine.modelId)
        throw new RuntimeError('MODEL_NOT_FOUND', `The model ${JSON.stringify(id)} does not exist.`, {
          details: { param: 'model' },
        });
      return sendJson(response, 200, modelObject);
    }
    if (path === '/metrics') {
      const extra = engine.metricsText ? await engine.metricsText().catch(() => '') : '';
      const text = metrics.registry.render() + extra;
      response.writeHead(200, {
        'Content-Type': METRICS_CONTENT_TYPE,
        'Content-Length': Buffer.byteLength(text),
      });
      response.end(text);
      return;
    }
    const extra = options.routes?.get(path);
    if (extra) return extra(request, response);
    throw new RuntimeError('ROUTE_NOT_FOUND', `There is no route ${method} ${path}.`);
  }

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const started = now();
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const label =
      KNOWN_ROUTES.has(path) || options.routes?.has(path)
        ? path
        : path.startsWith('/v1/models/')
          ? '/v1/models/{id}'
          : 'other';
    const generation = path in GENERATION_ROUTES;
    if (generation) {
      inFlight++;
      metrics.inFlight.add({}, 1);
    }
    route(request, response, path, started)
      .catch((error: unknown) => {
        const status = httpStatusFor(error);
        const body = openAiErrorBody(error);
        metrics.errors.inc({ route: label, code: body.error.code ?? 'internal' });
        if (status >= 500 && status !== 503)
          log(
            `${request.method} ${path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
        const headers: Record<string, string> = draining ? { Connection: 'close' } : {};
        if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
        if (!response.headersSent) sendJson(response, status, body, headers);
        else if (!response.writableEnded) response.end();
      })
      .finally(() => {
        const status = response.statusCode;
        metrics.requests.inc({ route: label, status: String(status) });
        if (label !== '/metrics') metrics.duration.observe((now() - started) / 1000, { route: label });
        log(`${request.method} ${path} ${status} ${Math.round(now() - started)} ms`);
        if (generation) {
          inFlight--;
          metrics.inFlight.add({}, -1);
          if (inFlight === 0) drained?.();
        }
      });
  };
  const server = options.tls
    ? https.createServer(tlsOptions(options.tls), handle)
    : http.createServer(handle);
  // Generation can take minutes on a CPU; the default 5-minute request timeout would cut it.
  server.requestTimeout = 0;
  // Clients stop reusing an idle connection after about 5 s (Node's fetch and
  // http agent, Python's httpx under the openai package), the same time after
  // which Node's server closes it by default, so a request sent at that moment
  // can meet the close and fail. Keeping idle connections well past the
  // clients' limit leaves the closing to them.
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new RuntimeError(
              'SERVER_START_FAILED',
              `Port ${options.port} on ${options.host} is already in use.`,
              { cause: error, details: { port: options.port }, hint: 'Stop what uses it, or pass --port.' },
            )
          : error,
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    port: address.port,
    close() {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        server.closeIdleConnections();
        // Keep-alive sockets that are still open get closed once their answer is sent.
        server.closeAllConnections();
        await stopped;
        await engine.close();
      })();
      return closing;
    },
  };
}

// A certificate or key that is not PEM fails here, before listening, with
// the file's role named; OpenSSL's message never contains key material.
function tlsOptions(tls: { cert: string | Buffer; key: string | Buffer }): https.ServerOptions {
  try {
    tlsContext(tls);
  } catch (error) {
    throw new RuntimeError(
      'INVALID_INPUT',
      `The TLS certificate and key cannot be used: ${(error as Error).message}`,
      {
        category: 'input',
        hint: 'Pass a PEM certificate with --tls-cert and its unencrypted PEM private key with --tls-key.',
      },
    );
  }
  return { cert: tls.cert, key: tls.key };
}
