import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { getMetadata, openGguf } from '@alki/gguf-reader';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import { cachedTinyLlamaGguf, writeTinyLlamaGguf } from './tiny-gguf.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-gguf-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('writeTinyLlamaGguf', () => {
  it('writes the same bytes for the same seed and different bytes for another seed', async () => {
    const a = await writeTinyLlamaGguf(path.join(dir, 'a.gguf'), { seed: 3 });
    const b = await writeTinyLlamaGguf(path.join(dir, 'b.gguf'), { seed: 3 });
    const c = await writeTinyLlamaGguf(path.join(dir, 'c.gguf'), { seed: 4 });
    expect(fs.readFileSync(a.path).equals(fs.readFileSync(b.path))).toBe(true);
    expect(fs.readFileSync(a.path).equals(fs.readFileSync(c.path))).toBe(false);
    expect(fs.statSync(a.path).size).toBeLessThan(500_000);
  });

  it('writes the llama keys llama.cpp needs, with an ASCII-decoding vocabulary', async () => {
    const model = await writeTinyLlamaGguf(path.join(dir, 'keys.gguf'), { headCountKv: 2 });
    const file = await openGguf(model.path);
    expect(getMetadata(file, 'general.architecture')).toBe('llama');
    expect(getMetadata(file, 'llama.block_count')).toBe(2);
    expect(getMetadata(file, 'llama.embedding_length')).toBe(64);
    expect(getMetadata(file, 'llama.attention.head_count')).toBe(4);
    expect(getMetadata(file, 'llama.attention.head_count_kv')).toBe(2);
    expect(getMetadata(file, 'llama.feed_forward_length')).toBe(128);
    expect(file.tensors.find((t) => t.name === 'blk.0.attn_k.weight')?.dims).toEqual([64, 32]);
    const decoded = model.tokens.map((t) => t.replaceAll('\u0120', ' ').replaceAll('\u010a', '\n')).join('');
    expect(/^[\x20-\x7e\n]*$/.test(decoded)).toBe(true);
  });

  it('loads in node-llama-cpp and generates tokens', async () => {
    const model = await cachedTinyLlamaGguf();
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const loaded = await llama.loadModel({ modelPath: model.path });
    try {
      expect(loaded.tokenizer('the cat')).toEqual(expect.arrayContaining([model.tokens.indexOf('\u0120c')]));
      const context = await loaded.createContext({ contextSize: 128, threads: 1 });
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      const text = await completion.generateCompletion('the cat', { maxTokens: 8 });
      expect(text.length).toBeGreaterThan(0);
      expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
      await context.dispose();
    } finally {
      await loaded.dispose();
    }
  });
});
