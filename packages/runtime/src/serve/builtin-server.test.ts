import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { createNodeLlamaEngine } from './node-llama-engine.js';
import { startOpenAiServer, type RunningServer } from './openai-server.js';
import { TINY_MODEL } from './test-model.js';

let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  const engine = await createNodeLlamaEngine({ modelPath: TINY_MODEL, modelId: 'tiny', contextSize: 128, threads: 2, parallel: 4 });
  server = await startOpenAiServer({ engine, host: '127.0.0.1', port: 0, log: (line) => process.stderr.write(`${line}\n`) });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe('the built-in server', () => {
  it('answers a chat completion through the openai client', async () => {
    const answer = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5 });
    expect(answer.choices[0].message.role).toBe('assistant');
    expect(answer.choices[0].finish_reason).toBe('length');
    expect(answer.usage?.completion_tokens).toBe(5);
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(1);
  });

  it('streams a chat completion', async () => {
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
    expect(finish).toBe('length');
    expect(completionTokens).toBe(4);
    expect(text.length).toBeGreaterThan(0);
  });

  it('lists its one model', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['tiny']);
  });

  it('answers 8 concurrent completions', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.completions.create({ model: 'tiny', prompt: `Request ${i}`, max_tokens: 3 })),
    );
    expect(answers).toHaveLength(8);
    for (const answer of answers) expect(answer.usage?.completion_tokens).toBe(3);
  });
});
