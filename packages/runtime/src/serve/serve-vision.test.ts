// Images through alki serve: OpenAI image_url parts with data URLs, passed
// to llama-server with the Gemma 3 vision fixture and its projector (both
// converted by @alki/converter), asked through the official openai client.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedVisionGgufs, nativeTools } from '@alki/testkit';
import OpenAI from 'openai';
import { gradientPng } from '../vision/generated-image.js';
import type { RunningServer } from './openai-server.js';
import { serveModel, type EngineName } from './serve.js';
import { resolveGgufSettings } from './settings.js';

const png = (side: number) => `data:image/png;base64,${gradientPng(side).toString('base64')}`;

async function serveVision(engine: EngineName): Promise<{ server: RunningServer; notes: string[] }> {
  const { model, mmproj } = await cachedVisionGgufs();
  const settings = await resolveGgufSettings(model, {
    port: 0,
    ctx: 512,
    threads: 1,
    parallel: 1,
    projectorPath: mmproj,
  });
  const llamaServerBinary =
    engine === 'llama-server' ? (await nativeTools()).paths['llama-server'] : undefined;
  const serving = await serveModel({ settings, engine, llamaServerBinary });
  return { server: serving.server, notes: serving.notes };
}

describe('alki serve of a vision model on llama-server', () => {
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    ({ server } = await serveVision('llama-server'));
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  }, 300_000);
  afterAll(async () => {
    await server?.close();
  });

  it('answers a chat message with a generated PNG, which the projector turns into prompt tokens', async () => {
    const ask = (withImage: boolean) =>
      client.chat.completions.create({
        model: 'gemma3-vlm-F16',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this image?' },
              ...(withImage ? [{ type: 'image_url' as const, image_url: { url: png(32) } }] : []),
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
    // Gemma 3's projector puts its image tokens between <start_of_image> and <end_of_image>.
    expect(withImage.usage!.prompt_tokens).toBeGreaterThan(textOnly.usage!.prompt_tokens + 2);
  }, 120_000);

  it('refuses bytes that are not an image, huge dimensions and broken base64 with a 400 naming the part', async () => {
    const send = (url: string) =>
      client.chat.completions.create({
        model: 'gemma3-vlm-F16',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }],
        max_tokens: 2,
      });
    const huge = gradientPng(4);
    huge.writeUInt32BE(50_000, 16);
    huge.writeUInt32BE(50_000, 20);
    for (const [url, message] of [
      [
        `data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`,
        'messages[0].content[0] is not an image',
      ],
      [`data:image/png;base64,${huge.toString('base64')}`, 'messages[0].content[0] is 50000×50000 pixels'],
      ['data:image/png;base64,iVBORw0KGgo!', 'messages[0].content[0].image_url.url is not valid base64'],
    ]) {
      await expect(send(url)).rejects.toMatchObject({
        status: 400,
        error: expect.objectContaining({
          message: expect.stringContaining(message),
          param: 'messages[0].content[0]',
        }),
      });
    }
    // The server is still up and answering.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  }, 60_000);
});

describe('alki serve of a vision model on node-llama-cpp', () => {
  it('serves text, and refuses a request with an image with a 400 that names the engine that reads images', async () => {
    const { server, notes } = await serveVision('node-llama-cpp');
    try {
      expect(notes).toContain(
        'node-llama-cpp reads no images: requests with images get a 400. Serve with --engine llama-server to answer them.',
      );
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const text = await client.chat.completions.create({
        model: 'gemma3-vlm-F16',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
      });
      expect(text.choices[0].message.role).toBe('assistant');
      await expect(
        client.chat.completions.create({
          model: 'gemma3-vlm-F16',
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: png(8) } }] }],
          max_tokens: 2,
        }),
      ).rejects.toMatchObject({
        status: 400,
        error: expect.objectContaining({
          message:
            'The node-llama-cpp engine does not read images; serve with --engine llama-server (alki tools build), which loads the vision projector.',
        }),
      });
    } finally {
      await server.close();
    }
  }, 300_000);
});
