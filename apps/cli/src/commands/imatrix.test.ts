import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BUILT_IN_CALIBRATION_TEXT } from '@alki/quantizer';
import { nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { runCli } from '../test-support.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-imatrix-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let model: string;
let text: string;
let tools: Record<string, string>;
beforeAll(async () => {
  tools = (await nativeTools()).paths;
  model = path.join(dir, 'model.gguf');
  await writeSizedLlamaGguf(model, { embedding: 256, feedForward: 256, layers: 2, seed: 41 });
  text = path.join(dir, 'text.txt');
  fs.copyFileSync(BUILT_IN_CALIBRATION_TEXT, text);
}, 900_000);

describe('alki imatrix', () => {
  it('writes the matrix llama-imatrix writes, and alki quantize --imatrix then writes what llama-quantize --imatrix writes', async () => {
    const output = path.join(dir, 'model.imatrix.gguf');
    const args = ['imatrix', model, '--text', text, '-c', '128', '--chunks', '16', '-t', '2', '-o', output];
    const result = await runCli([...args, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      format: 'gguf',
      chunks: 16,
      contextSize: 128,
      dataset: text,
    });
    const reference = path.join(dir, 'ref.imatrix.gguf');
    await run(tools['llama-imatrix'], [
      '-m',
      model,
      '-f',
      text,
      '-c',
      '128',
      '--chunks',
      '16',
      '-t',
      '2',
      '-o',
      reference,
    ]);
    expect(Buffer.compare(fs.readFileSync(output), fs.readFileSync(reference))).toBe(0);

    const ours = path.join(dir, 'iq4xs.gguf');
    const quantized = await runCli([
      'quantize',
      model,
      ours,
      'IQ4_XS',
      '--imatrix',
      output,
      '--exclude-weights',
      'attn_v',
      '--json',
    ]);
    expect(quantized.code).toBe(0);
    expect(JSON.parse(quantized.stdout)).toMatchObject({
      imatrix: { file: output, entries: 2 * 7 - 2, chunks: 16 },
    });
    const expected = path.join(dir, 'ref-iq4xs.gguf');
    await run(tools['llama-quantize'], [
      '--imatrix',
      output,
      '--exclude-weights',
      'attn_v',
      model,
      expected,
      'IQ4_XS',
      '2',
    ]);
    expect(Buffer.compare(fs.readFileSync(ours), fs.readFileSync(expected))).toBe(0);
  }, 600_000);

  it('prints a report per output type with --report: size, bits per weight, the error, and the error without the imatrix', async () => {
    const imatrix = path.join(dir, 'ref.imatrix.gguf');
    const output = path.join(dir, 'report.gguf');
    const result = await runCli(['quantize', model, output, 'Q4_K_M', '--imatrix', imatrix, '--report']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const header = lines.find((line) => line.startsWith('type'))!;
    expect(header.split(/\s{2,}/)).toEqual([
      'type',
      'tensors',
      'size',
      'bpw',
      'rmse',
      'maxerr',
      '95pct<',
      'median<',
      'weighted rmse',
      'without imatrix',
    ]);
    const q4k = lines.find((line) => line.startsWith('Q4_K '))!.split(/\s{2,}/);
    // Q4_K blocks: 144 bytes per 256 weights.
    expect(q4k[3]).toBe('4.50');
    expect(Number(q4k[4])).toBeGreaterThan(0);
    expect(q4k[9]).toMatch(/^\d\.\d{4}e-\d+ \(-?\d+\.\d%\)$/);
    expect(lines.find((line) => line.startsWith('F32 '))!.split(/\s{2,}/)[4]).toBe('-');
  });

  it('exits 2 for Q2_K_S without --imatrix, naming the flag, and writes nothing', async () => {
    const output = path.join(dir, 'refused.gguf');
    const result = await runCli(['quantize', model, output, 'Q2_K_S']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs an importance matrix');
    expect(result.stderr).toContain('--imatrix');
    expect(fs.existsSync(output)).toBe(false);
  });

  it('exits 3 for a damaged imatrix file', async () => {
    const damaged = path.join(dir, 'damaged.imatrix.gguf');
    fs.writeFileSync(damaged, fs.readFileSync(path.join(dir, 'ref.imatrix.gguf')).subarray(0, 300));
    const result = await runCli([
      'quantize',
      model,
      path.join(dir, 'x.gguf'),
      'Q4_K_M',
      '--imatrix',
      damaged,
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('imatrix');
  });

  it('exits 3 when the text is too short for two chunks', async () => {
    const short = path.join(dir, 'short.txt');
    fs.writeFileSync(short, 'too short');
    const result = await runCli(['imatrix', model, '--text', short, '-o', path.join(dir, 'short.gguf')]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('too short');
  });
});

describe('alki quantize metadata and layout flags', () => {
  it('passes --override-kv, --prune-layers and --output-tensor-type through as llama-quantize takes them', async () => {
    const flags = [
      '--override-kv',
      'general.name=str:pruned',
      '--prune-layers',
      '1',
      '--output-tensor-type',
      'q8_0',
    ];
    const output = path.join(dir, 'flags.gguf');
    expect((await runCli(['quantize', model, output, 'Q3_K_S', ...flags, '--quiet'])).code).toBe(0);
    const expected = path.join(dir, 'ref-flags.gguf');
    await run(tools['llama-quantize'], [...flags, model, expected, 'Q3_K_S', '2']);
    expect(Buffer.compare(fs.readFileSync(output), fs.readFileSync(expected))).toBe(0);
  });

  it('exits 2 for a malformed --override-kv or --prune-layers, and for --include-weights with --exclude-weights', async () => {
    const output = path.join(dir, 'never.gguf');
    for (const flags of [
      ['--override-kv', 'general.name=text:x'],
      ['--prune-layers', '1,x'],
      ['--imatrix', 'm.gguf', '--include-weights', 'a', '--exclude-weights', 'b'],
    ]) {
      const result = await runCli(['quantize', model, output, 'Q4_K_M', ...flags]);
      expect(result.code).toBe(2);
    }
    expect(fs.existsSync(output)).toBe(false);
  });
});
