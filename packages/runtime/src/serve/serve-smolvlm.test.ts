// A SmolVLM bundle answers an image: `alki pack` of the SmolVLM fixture
// checkpoint converts the text model (llama) and its idefics3 projector with
// @alki/converter, and the bundle is served as `alki serve <bundle>` serves
// it (its runtime.json's model and mmproj) on llama-server, asked through the
// official openai client with an OpenAI image_url data URL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { getMetadata, openGguf } from '@alki/gguf-reader';
import { generateCheckpoint, nativeTools } from '@alki/testkit';
import OpenAI from 'openai';
import { gradientPng } from '../vision/generated-image.js';
import type { RunningServer } from './openai-server.js';
import { serveModel } from './serve.js';
import { resolveServeSettings } from './settings.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-serve-smolvlm-'));
let bundleDir: string;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  const checkpoint = await generateCheckpoint({ family: 'smolvlm' });
  const packed = await pack({
    source: checkpoint,
    out: path.join(work, 'bundle'),
    name: 'smolvlm',
    quantize: ['F16'],
    sourceDateEpoch: 1,
    env: { HF_HUB_CACHE: path.join(work, 'hf-cache') },
  });
  bundleDir = packed.dir;
  const settings = await resolveServeSettings(bundleDir, { port: 0, ctx: 1024, threads: 1, parallel: 1 });
  const serving = await serveModel({
    settings,
    engine: 'llama-server',
    llamaServerBinary: (await nativeTools()).paths['llama-server'],
  });
  server = serving.server;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 300_000);
afterAll(async () => {
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('alki serve of a packed SmolVLM bundle on llama-server', () => {
  it("packs the converted idefics3 projector beside the model, as runtime.json's mmproj", async () => {
    const settings = await resolveServeSettings(bundleDir);
    expect(settings.projectorPath).toBeDefined();
    const projector = await openGguf(settings.projectorPath!);
    expect(getMetadata(projector, 'general.architecture')).toBe('clip');
    expect(getMetadata(projector, 'clip.projector_type')).toBe('idefics3');
    expect(getMetadata(await openGguf(settings.modelPath), 'general.architecture')).toBe('llama');
  });

  it('answers a chat message with a generated PNG, which the projector turns into prompt tokens', async () => {
    const ask = (withImage: boolean) =>
      client.chat.completions.create({
        model: 'smolvlm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this image?' },
              ...(withImage
                ? [
                    {
                      type: 'image_url' as const,
                      image_url: { url: `data:image/png;base64,${gradientPng(48).toString('base64')}` },
                    },
                  ]
                : []),
            ],
          },
        ],
        max_tokens: 4,
        temperature: 0,
      });
    const withImage = await ask(true);
    const textOnly = await ask(false);
    expect(withImage.choices[0].message.role).toBe('assistant');
    expect(withImage.usage!.completion_tokens).toBeGreaterThan(0);
    // 48x48 is resized to the 64-pixel longest edge and cut into 2x2 tiles of 32 plus the global image:
    // five images of (32 / 8 / 2)² = 4 tokens each after the pixel shuffle, and their row, column and
    // boundary tokens around them.
    expect(withImage.usage!.prompt_tokens).toBeGreaterThanOrEqual(textOnly.usage!.prompt_tokens + 5 * 4 + 5);
  }, 120_000);
});
