import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nativeTools, percentile, sendChatLoad } from '@alki/testkit';
import { demoBundle } from '../test-support/models.js';
import type { RunningServer } from './openai-server.js';
import { serveModel, type EngineName } from './serve.js';
import { resolveServeSettings } from './settings.js';

// The short version of tools/bench/serve-load.ts: the demo bundle (context
// 512 per request) with 2 slots, sent 4, 16 and 64 times as many concurrent
// requests as it has slots, each asking for as many tokens as fit beside its
// prompt. Every request must be answered: the ones beyond the slots wait.
const SLOTS = 2;
const MAX_TOKENS = 64;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-serve-load-'));
let bundle: string;
beforeAll(async () => {
  bundle = await demoBundle(work);
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.each<EngineName>(['llama-server', 'node-llama-cpp'])(
  'the demo bundle on %s under load',
  (engine) => {
    let server: RunningServer;
    let modelId: string;

    beforeAll(async () => {
      const llamaServerBinary =
        engine === 'llama-server' ? (await nativeTools()).paths['llama-server'] : undefined;
      const settings = await resolveServeSettings(bundle, {
        host: '127.0.0.1',
        port: 0,
        threads: 1,
        parallel: SLOTS,
      });
      modelId = settings.modelId;
      server = (await serveModel({ settings, engine, llamaServerBinary })).server;
    }, 120_000);
    afterAll(() => server?.close());

    it('answers text with non-ASCII characters, which once made llama.cpp abort on the demo model', async () => {
      for (const content of ['Grüße aus Tōkyō ☕', 'Привет, мир', '你好']) {
        const response = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content }], max_tokens: 8 }),
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { usage: { prompt_tokens: number } };
        // Every byte of the text became a token of its own or part of one.
        expect(body.usage.prompt_tokens).toBeGreaterThan(content.length / 2);
      }
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    }, 60_000);

    it.each([4, 16, 64])(
      'answers %i times its slot count of concurrent requests, all of them',
      async (times) => {
        const result = await sendChatLoad({
          url: server.url,
          model: modelId,
          requests: SLOTS * times,
          maxTokens: MAX_TOKENS,
        });
        expect(result.failures).toEqual([]);
        for (const answer of result.answers) {
          expect(answer.completionTokens).toBeGreaterThan(0);
          expect(answer.completionTokens).toBeLessThanOrEqual(MAX_TOKENS);
          expect(answer.promptTokens + answer.completionTokens).toBeLessThanOrEqual(512);
        }
        // Requests past the slots waited for one: the slowest first token came
        // after the quickest whole answer.
        expect(
          percentile(
            result.answers.map((a) => a.firstTokenMs),
            1,
          ),
        ).toBeGreaterThan(Math.min(...result.answers.map((a) => a.totalMs)));
      },
      300_000,
    );
  },
);
