import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf, generateCheckpoint, nativeTools } from '@alki/testkit';
import { runCli } from '../test-support.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-quantize-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let input: string;
let llamaQuantize: string;
beforeAll(async () => {
  input = (await cachedTinyLlamaGguf({ feedForwardLength: 256 })).path;
  llamaQuantize = (await nativeTools()).paths['llama-quantize'];
}, 900_000);

describe('alki quantize', () => {
  it('writes what llama-quantize writes and reports the result as JSON', async () => {
    const output = path.join(dir, 'q4km.gguf');
    const result = await runCli(['quantize', input, output, 'q4_k_m', '--threads', '2', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      mix: string;
      fileType: number;
      outputBytes: number;
      tensors: Array<{ name: string; to: string }>;
    };
    expect(report).toMatchObject({ mix: 'Q4_K_M', fileType: 15, outputBytes: fs.statSync(output).size });
    const reference = path.join(dir, 'ref.gguf');
    await run(llamaQuantize, [input, reference, 'Q4_K_M', '2']);
    expect(Buffer.compare(fs.readFileSync(output), fs.readFileSync(reference))).toBe(0);
  });

  it('passes --tensor-type overrides through', async () => {
    const output = path.join(dir, 'override.gguf');
    const result = await runCli([
      'quantize',
      input,
      output,
      'Q8_0',
      '--tensor-type',
      'ffn_down=q6_k',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const tensors = (JSON.parse(result.stdout) as { tensors: Array<{ name: string; to: string }> }).tensors;
    expect(tensors.filter((t) => t.name.includes('ffn_down')).map((t) => t.to)).toEqual(['Q6_K', 'Q6_K']);
  });

  it('exits 2 with a one-line error for an unknown mix, and writes nothing', async () => {
    const output = path.join(dir, 'unknown.gguf');
    const result = await runCli(['quantize', input, output, 'Q9_X']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown quantization mix "Q9_X"');
    expect(fs.existsSync(output)).toBe(false);
  });

  it('exits 2 instead of overwriting an existing file, and replaces it with --force', async () => {
    const output = path.join(dir, 'existing.gguf');
    fs.writeFileSync(output, 'mine');
    expect((await runCli(['quantize', input, output, 'Q8_0'])).code).toBe(2);
    expect(fs.readFileSync(output, 'utf8')).toBe('mine');
    expect((await runCli(['quantize', input, output, 'Q8_0', '--force', '--quiet'])).code).toBe(0);
  });

  it('exits 3 when the input is already quantized, unless --allow-requantize', async () => {
    const q8 = path.join(dir, 'q8.gguf');
    expect((await runCli(['quantize', input, q8, 'Q8_0', '--quiet'])).code).toBe(0);
    const refused = await runCli(['quantize', q8, path.join(dir, 'again.gguf'), 'Q4_K_M']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('already quantized');
    expect(
      (
        await runCli([
          'quantize',
          q8,
          path.join(dir, 'again.gguf'),
          'Q4_K_M',
          '--allow-requantize',
          '--quiet',
        ])
      ).code,
    ).toBe(0);
  });

  it('caps --threads 10000 at a few threads per core with a warning, and leaves only the output behind', async () => {
    const out = path.join(dir, 'threads');
    fs.mkdirSync(out);
    const output = path.join(out, 'q8.gguf');
    const result = await runCli(['quantize', input, output, 'Q8_0', '--threads', '10000', '--json']);
    expect(result.code).toBe(0);
    const cap = 4 * os.availableParallelism();
    expect(result.stderr).toContain(
      `--threads 10000 is more than this ${os.availableParallelism()}-core machine can use; using ${cap}.`,
    );
    expect((JSON.parse(result.stdout) as { threads: number }).threads).toBe(cap);
    expect(fs.readdirSync(out)).toEqual(['q8.gguf']);
    const reference = path.join(dir, 'threads-ref.gguf');
    await run(llamaQuantize, [input, reference, 'Q8_0', '2']);
    expect(Buffer.compare(fs.readFileSync(output), fs.readFileSync(reference))).toBe(0);
  });

  it('exits 2 for a malformed --tensor-type', async () => {
    const result = await runCli([
      'quantize',
      input,
      path.join(dir, 'bad.gguf'),
      'Q8_0',
      '--tensor-type',
      'attn_v',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PATTERN=TYPE');
  });
});

describe('alki convert --outtype with a quantization mix', () => {
  it('converts to F16 and quantizes in one command, exactly as convert f16 plus llama-quantize, leaving no intermediate file', async () => {
    const checkpoint = await generateCheckpoint({
      family: 'tinyllama',
      hiddenSize: 256,
      intermediateSize: 512,
    });
    const out = path.join(dir, 'convert-mix');
    fs.mkdirSync(out);
    const output = path.join(out, 'tiny-q4_k_m.gguf');
    const result = await runCli(['convert', checkpoint, '--outtype', 'q4_k_m', '-o', output, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      outtype: 'q4_k_m',
      fileType: 15,
      bytes: fs.statSync(output).size,
    });
    expect(fs.readdirSync(out)).toEqual(['tiny-q4_k_m.gguf']);

    const f16 = path.join(dir, 'tiny-f16.gguf');
    expect((await runCli(['convert', checkpoint, '--outtype', 'f16', '-o', f16, '--quiet'])).code).toBe(0);
    const reference = path.join(dir, 'tiny-ref-q4_k_m.gguf');
    await run(llamaQuantize, [f16, reference, 'Q4_K_M', '2']);
    expect(Buffer.compare(fs.readFileSync(output), fs.readFileSync(reference))).toBe(0);
  }, 600_000);
});
