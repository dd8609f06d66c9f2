import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { BUILT_IN_CALIBRATION_NAME, BUILT_IN_CALIBRATION_TEXT, computeImatrix } from './compute-imatrix.js';
import { parseImatrix } from './imatrix.js';

const run = promisify(execFile);
let dir: string;
let tools: { imatrix: string; tokenize: string };
let model: string;
let text: string;

// The tiny tokenizer reads about one token per character: the built-in text
// holds about 128 chunks of 128 tokens, and 16 chunks make one pass.
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-compute-imatrix-'));
  const { paths } = await nativeTools();
  tools = { imatrix: paths['llama-imatrix'], tokenize: paths['llama-tokenize'] };
  model = path.join(dir, 'model.gguf');
  await writeSizedLlamaGguf(model, { embedding: 128, feedForward: 256, layers: 2, seed: 31 });
  text = path.join(dir, 'text.txt');
  fs.copyFileSync(BUILT_IN_CALIBRATION_TEXT, text);
}, 900_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// llama-imatrix itself, with the same text path (it records the path as given).
async function reference(output: string, extra: string[] = []): Promise<Buffer> {
  const file = path.join(dir, output);
  await run(tools.imatrix, ['-m', model, '-f', text, '-o', file, '-c', '128', '-t', '2', ...extra]);
  return fs.readFileSync(file);
}

describe('computeImatrix', () => {
  it('writes what one llama-imatrix run writes, also when interrupted and resumed', async () => {
    const expected = await reference('ref.gguf', ['--chunks', '64']);
    const output = path.join(dir, 'resumed.gguf');
    const options = {
      model,
      output,
      llamaImatrix: tools.imatrix,
      llamaTokenize: tools.tokenize,
      text,
      contextSize: 128,
      chunks: 64,
      threads: 2,
    };
    const controller = new AbortController();
    await expect(
      computeImatrix({
        ...options,
        signal: controller.signal,
        // Stop inside the third segment of 16 chunks.
        onProgress: (p) => p.chunk >= 40 && controller.abort(new Error('interrupted')),
      }),
    ).rejects.toThrow('interrupted');
    expect(fs.existsSync(output)).toBe(false);
    expect(fs.readdirSync(`${output}.partial`)).toEqual(expect.arrayContaining(['segment-32.gguf']));

    const progress: Array<{ chunk: number; chunks: number; resumedFrom?: number }> = [];
    const result = await computeImatrix({ ...options, onProgress: (p) => progress.push(p) });
    expect(progress[0]).toEqual({ chunk: 32, chunks: 64, resumedFrom: 32 });
    expect(progress.at(-1)).toEqual({ chunk: 64, chunks: 64 });
    expect(result).toMatchObject({ chunks: 64, resumedFrom: 32, dataset: text, format: 'gguf' });
    expect(Buffer.compare(fs.readFileSync(output), expected)).toBe(0);
    expect(fs.existsSync(`${output}.partial`)).toBe(false);
  }, 600_000);

  it('writes the legacy format for a .dat output, as llama-imatrix --output-format dat does', async () => {
    const expected = await reference('ref.dat', ['--chunks', '16', '--output-format', 'dat']);
    const output = path.join(dir, 'ours.dat');
    await computeImatrix({
      model,
      output,
      llamaImatrix: tools.imatrix,
      text,
      contextSize: 128,
      chunks: 16,
      threads: 2,
    });
    expect(Buffer.compare(fs.readFileSync(output), expected)).toBe(0);
  }, 600_000);

  it('uses the built-in calibration text when none is given, and records its name', async () => {
    const output = path.join(dir, 'built-in.gguf');
    const result = await computeImatrix({
      model,
      output,
      llamaImatrix: tools.imatrix,
      contextSize: 128,
      chunks: 16,
      threads: 2,
    });
    expect(result).toMatchObject({ dataset: BUILT_IN_CALIBRATION_NAME, chunks: 16 });
    expect((await parseImatrix(fs.readFileSync(output))).datasets).toEqual([BUILT_IN_CALIBRATION_NAME]);
  }, 600_000);

  it('says the text is too short for two chunks, and leaves no output', async () => {
    const short = path.join(dir, 'short.txt');
    fs.writeFileSync(short, 'far too short');
    const output = path.join(dir, 'short.gguf');
    await expect(
      computeImatrix({
        model,
        output,
        llamaImatrix: tools.imatrix,
        text: short,
        contextSize: 128,
        threads: 2,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('too short') });
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('short.gguf'))).toEqual([]);
  });

  it('refuses to overwrite an existing output unless asked', async () => {
    const output = path.join(dir, 'exists.gguf');
    fs.writeFileSync(output, 'keep me');
    await expect(computeImatrix({ model, output, llamaImatrix: tools.imatrix })).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    expect(fs.readFileSync(output, 'utf8')).toBe('keep me');
  });
});
