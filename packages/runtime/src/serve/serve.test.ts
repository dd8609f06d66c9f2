import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { openGguf, summarizeGguf } from '@alki/gguf-reader';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nativeTools } from '@alki/testkit';
import OpenAI from 'openai';
import { duplicateTokenModel, missingBytePiecesModel, tinyModel } from '../test-support/models.js';
import { startLlamaServerEngine } from './llama-server-engine.js';
import { startOpenAiServer, type RunningServer } from './openai-server.js';
import { serveModel, type EngineName } from './serve.js';
import { resolveGgufSettings } from './settings.js';

// The same behaviour, through the official openai client, for both engines.
const CONTEXT = 256;
const SLOTS = 4;
// On a 2-core machine shared with other work, two node-llama-cpp threads spend
// their time waiting for each other on a model this small; one thread is
// 20 to 100 times faster here, so these behaviour tests use one.

describe.each<EngineName>(['node-llama-cpp', 'llama-server'])('alki serve on %s', (engine) => {
  let server: RunningServer;
  let client: OpenAI;
  let modelId: string;

  beforeAll(async () => {
    const llamaServerBinary =
      engine === 'llama-server' ? (await nativeTools()).paths['llama-server'] : undefined;
    const settings = await resolveGgufSettings(await tinyModel(), {
      port: 0,
      ctx: CONTEXT,
      threads: 1,
      parallel: SLOTS,
    });
    modelId = settings.modelId;
    const serving = await serveModel({ settings, engine, llamaServerBinary });
    expect(serving.settings.parallel).toBe(SLOTS);
    expect(serving.engine).toBe(engine);
    server = serving.server;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it('answers a chat completion', async () => {
    const answer = await client.chat.completions.create({
      model: modelId,
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 5,
      temperature: 0,
    });
    expect(answer.object).toBe('chat.completion');
    expect(answer.model).toBe(modelId);
    expect(answer.choices[0].message.role).toBe('assistant');
    expect(typeof answer.choices[0].message.content).toBe('string');
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(3);
    expect(answer.usage!.completion_tokens).toBeLessThanOrEqual(5);
    expect(answer.choices[0].finish_reason === 'length').toBe(answer.usage!.completion_tokens === 5);
  });

  it('streams a chat completion as server-sent events, ending with a finish reason and usage', async () => {
    const stream = await client.chat.completions.create({
      model: modelId,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let completionTokens: number | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(['length', 'stop']).toContain(finish);
    expect(completionTokens).toBeGreaterThan(0);
    expect(completionTokens).toBeLessThanOrEqual(6);
    expect(text.length).toBeGreaterThan(0);
  });

  it('answers a plain completion, streamed and not', async () => {
    const answer = await client.completions.create({
      model: modelId,
      prompt: 'Once upon a time',
      max_tokens: 4,
      temperature: 0,
    });
    expect(answer.object).toBe('text_completion');
    expect(answer.usage!.completion_tokens).toBeLessThanOrEqual(4);
    const stream = await client.completions.create({
      model: modelId,
      prompt: 'Once upon a time',
      max_tokens: 4,
      temperature: 0,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    // Greedy decoding of the same prompt gives the same text either way.
    expect(streamed).toBe(answer.choices[0].text);
  });

  it('lists the one model it serves', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual([modelId]);
  });

  it('answers 8 concurrent requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.chat.completions.create({
          model: modelId,
          messages: [{ role: 'user', content: `Request number ${i}` }],
          max_tokens: 3,
        }),
      ),
    );
    expect(answers).toHaveLength(8);
    for (const answer of answers) {
      expect(answer.choices).toHaveLength(1);
      expect(answer.usage!.completion_tokens).toBeGreaterThan(0);
    }
  }, 120_000);

  it('gives each of its slots the whole context: as many long answers as slots at once, none cut short', async () => {
    // Prompt and answer fill most of one slot's context; with one context
    // shared among the slots these fail with "Context size has been exceeded".
    const answers = await Promise.all(
      Array.from({ length: SLOTS }, (_, i) =>
        client.completions.create({
          model: modelId,
          prompt: `Story ${i}:`,
          max_tokens: CONTEXT - 16,
          temperature: 0,
        }),
      ),
    );
    let total = 0;
    for (const answer of answers) {
      const { prompt_tokens: prompt, completion_tokens: completion } = answer.usage!;
      expect(prompt + completion).toBeLessThanOrEqual(CONTEXT);
      expect(answer.choices[0].finish_reason === 'length').toBe(completion === CONTEXT - 16);
      total += prompt + completion;
    }
    // Together they held more tokens than one context has.
    expect(total).toBeGreaterThan(CONTEXT);
  }, 240_000);

  it('refuses a body that does not say it is JSON with a 415, since any web page can send one', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: type ? { 'Content-Type': type } : {},
        body: new Blob([JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 })]),
      });
      expect(response.status).toBe(415);
      const body = (await response.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error.message).toMatch(/must be JSON, sent with Content-Type: application\/json/);
    }
  });

  it('refuses malformed JSON with a 400 and an OpenAI error body, and stays up', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"model": "x", "messages": [',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/not valid JSON/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('refuses an unknown model with a 404 model_not_found', async () => {
    const failure = await client.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
    expect((failure as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('refuses a prompt longer than the context with a 400', async () => {
    const failure = await client.completions
      .create({ model: modelId, prompt: 'word '.repeat(CONTEXT * 2), max_tokens: 2 })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
    const chatFailure = await client.chat.completions
      .create({
        model: modelId,
        messages: [{ role: 'user', content: 'word '.repeat(CONTEXT * 2) }],
        max_tokens: 2,
      })
      .catch((e: unknown) => e);
    expect(chatFailure).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('refuses a negative max_tokens with a 400 naming the parameter', async () => {
    const failure = await client.chat.completions
      .create({ model: modelId, messages: [{ role: 'user', content: 'Hi' }], max_tokens: -5 })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('max_tokens');
    const after = await client.chat.completions.create({
      model: modelId,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 1,
    });
    expect(after.choices).toHaveLength(1);
  });

  it('exposes request, token, error and latency metrics in Prometheus text', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? NaN);
    // Earlier tests in this file made 11 successful chat requests and 3 refused ones.
    expect(value(/^alki_requests_total\{route="\/v1\/chat\/completions",status="200"\} (\d+)$/m)).toBe(11);
    expect(value(/^alki_requests_total\{route="\/v1\/chat\/completions",status="400"\} (\d+)$/m)).toBe(3);
    expect(
      value(/^alki_request_errors_total\{code="model_not_found",route="\/v1\/chat\/completions"\} (\d+)$/m),
    ).toBe(1);
    expect(value(/^alki_completion_tokens_total (\d+)$/m)).toBeGreaterThan(20);
    expect(
      value(/^alki_request_duration_seconds_count\{route="\/v1\/completions"\} (\d+)$/m),
    ).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(
      /^alki_request_duration_seconds_bucket\{route="\/v1\/chat\/completions",le="\+Inf"\} \d+$/m,
    );
    expect(text).toMatch(
      /^alki_time_to_first_token_seconds_bucket\{route="\/v1\/chat\/completions",le="0\.5"\} \d+$/m,
    );
    if (engine === 'llama-server') expect(text).toMatch(/^llamacpp:tokens_predicted_total \d+/m);
  });

  it('answers /v1/embeddings with a 400 naming --embeddings, since it was not started to serve them', async () => {
    const failure = await client.embeddings
      .create({ model: modelId, input: 'Hi' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as Error).message).toContain('start it with `alki serve --embeddings`');
  });

  it('stops a generation whose client hangs up, and keeps serving', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: modelId, prompt: 'Once', max_tokens: 1000, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    // Hang up after the first event; the rest of the context (about 250 tokens) would take seconds.
    controller.abort();
    const after = await client.completions.create({ model: modelId, prompt: 'Hi', max_tokens: 2 });
    expect(after.choices).toHaveLength(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^alki_requests_in_flight 0$/m);
  }, 60_000);

  it('finishes a request in flight when it shuts down, then refuses connections', async () => {
    const stream = await client.chat.completions.create({
      model: modelId,
      messages: [{ role: 'user', content: 'Tell a story' }],
      max_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let closing: Promise<void> | undefined;
    let completionTokens = 0;
    for await (const chunk of stream) {
      // Shut down as soon as the first text arrives: the rest must still come.
      closing ??= server.close();
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
    await closing;
    expect(completionTokens).toBeGreaterThan(1);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  }, 60_000);
});

describe('the llama-server engine, when llama-server dies', () => {
  it('answers /health with 503 and generations with a 502, and reports the exit', async () => {
    const settings = await resolveGgufSettings(await tinyModel(), {
      host: '127.0.0.1',
      port: 0,
      ctx: CONTEXT,
      threads: 1,
    });
    const exits: string[] = [];
    let child: ChildProcess | undefined;
    const engine = await startLlamaServerEngine({
      binary: (await nativeTools()).paths['llama-server'],
      settings,
      onExit: (reason) => exits.push(reason),
      spawnProcess: ((...args: Parameters<typeof spawn>) => (child = spawn(...args))) as typeof spawn,
    });
    const server = await startOpenAiServer({ engine, port: 0 });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      child!.kill('SIGKILL');
      await once(child!, 'exit');
      expect(exits).toEqual(['llama-server exited (SIGKILL)']);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(503);
      const answer = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'Hi', max_tokens: 2 }),
      });
      expect(answer.status).toBe(502);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('upstream_failed');
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('slots', () => {
  it('are fewer than asked for when memory does not hold them all, and the notes say why', async () => {
    const modelPath = await tinyModel();
    const settings = await resolveGgufSettings(modelPath, { port: 0, threads: 1, parallel: 4 });
    const slot = summarizeGguf(await openGguf(modelPath), { contextSize: settings.ctx }).memory.kvCacheBytes;
    // Room for the model, the 256 MiB overhead and two and a half slots.
    const availableMemory = fs.statSync(modelPath).size + 256 * 2 ** 20 + 2.5 * slot;
    const serving = await serveModel({ settings, engine: 'node-llama-cpp', availableMemory });
    try {
      expect(serving.settings.parallel).toBe(2);
      expect(serving.notes).toEqual([
        expect.stringMatching(
          /^Serving 2 requests at once instead of 4: each slot holds a .* KV cache for 256 tokens/,
        ),
      ]);
    } finally {
      await serving.server.close();
    }
  }, 60_000);
});

describe('models llama.cpp aborts on', () => {
  it('are refused before loading when a SentencePiece vocabulary lacks byte pieces, on both engines', async () => {
    const settings = await resolveGgufSettings(await missingBytePiecesModel(), { port: 0, threads: 1 });
    for (const engine of ['node-llama-cpp', 'llama-server'] as const) {
      await expect(
        serveModel({ settings, engine, llamaServerBinary: (await nativeTools()).paths['llama-server'] }),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        category: 'input',
        message: expect.stringMatching(
          /cannot be served: The SentencePiece vocabulary has no byte-fallback token for \d+ bytes .*llama\.cpp aborts the process/,
        ),
      });
    }
  });

  it('name the assert line when llama-server aborts while loading, not the backtrace after it', async () => {
    const settings = await resolveGgufSettings(await duplicateTokenModel(), { port: 0, threads: 1 });
    const failure = await serveModel({
      settings,
      engine: 'llama-server',
      llamaServerBinary: (await nativeTools()).paths['llama-server'],
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'SERVER_START_FAILED', category: 'input' });
    const message = (failure as Error).message;
    expect(message).toMatch(
      /^llama-server exited \(SIGABRT\) before it was ready: .*llama-vocab\.cpp:\d+: GGML_ASSERT\(id_to_token\.size\(\) == token_to_id\.size\(\)\) failed$/,
    );
    expect(message.split('\n')).toHaveLength(1);
  }, 120_000);
});
