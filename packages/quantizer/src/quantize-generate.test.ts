import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getLlama, LlamaCompletion, LlamaLogLevel, readGgufFileInfo, type Llama } from 'node-llama-cpp';
import { writeSizedLlamaGguf } from '@alki/testkit';
import { quantizeGguf } from './quantize-gguf.js';

let dir: string;
let input: string;
let llama: Llama;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-quantizer-generate-'));
  input = path.join(dir, 'f32.gguf');
  await writeSizedLlamaGguf(input, { embedding: 256, feedForward: 512, layers: 2, seed: 9 });
  // The CPU prebuilt, at most 2 threads: more makes generation hundreds of times slower on 2 cores.
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: 2 });
});

afterAll(async () => {
  await llama?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('quantized models in node-llama-cpp', () => {
  it.each([
    ['Q4_K_M', 15],
    ['Q4_K_S', 14],
    ['Q5_K_M', 17],
    ['Q5_K_S', 16],
    ['Q6_K', 18],
    ['Q8_0', 7],
  ])('loads a %s model with general.file_type %d and generates from it', async (mix, fileType) => {
    const output = path.join(dir, `${mix}.gguf`);
    await quantizeGguf({ input, output, mix, threads: 2 });
    const info = await readGgufFileInfo(output);
    expect(info.metadata.general.file_type).toBe(fileType);
    expect(info.metadata.general.quantization_version).toBe(2);

    const model = await llama.loadModel({ modelPath: output });
    try {
      const context = await model.createContext({ contextSize: 64, threads: 2 });
      try {
        const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
        const prompt = model.tokenize('the cat');
        expect(prompt.length).toBeGreaterThan(0);
        let generated = 0;
        await completion.generateCompletion('the cat', {
          maxTokens: 4,
          onToken: (tokens) => (generated += tokens.length),
        });
        expect(generated).toBeGreaterThan(0);
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
});
