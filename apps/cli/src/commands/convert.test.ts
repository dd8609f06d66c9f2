import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileSource, getMetadata, readGguf } from '@alki/gguf-reader';
import { generateCheckpoint } from '@alki/testkit';
import { runCli } from '../test-support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-convert-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let checkpoint: string;
beforeAll(async () => {
  checkpoint = await generateCheckpoint({ family: 'tinyllama' });
}, 600_000);

describe('alki convert', () => {
  it('converts a checkpoint to Q8_0 and reports the result as JSON', async () => {
    const output = path.join(dir, 'tiny-q8_0.gguf');
    const result = await runCli(['convert', checkpoint, '--outtype', 'q8_0', '-o', output, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      outtype: string;
      ggufArchitecture: string;
      bytes: number;
      tokenizer: { model: string };
    };
    expect(report).toMatchObject({
      outtype: 'q8_0',
      ggufArchitecture: 'llama',
      bytes: fs.statSync(output).size,
      tokenizer: { model: 'llama' },
    });
    const source = await fileSource(output);
    try {
      const gguf = await readGguf(source);
      expect(getMetadata(gguf, 'general.file_type')).toBe(7);
      expect(gguf.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type).toBe(8);
    } finally {
      await source.close?.();
    }
  });

  it('exits 2 for an unknown --outtype, and writes nothing', async () => {
    const output = path.join(dir, 'bad.gguf');
    const result = await runCli(['convert', checkpoint, '--outtype', 'q3_x', '-o', output]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--outtype q3_x is not one of f32, f16, bf16, q8_0');
    expect(fs.existsSync(output)).toBe(false);
  });

  it('exits 2 instead of overwriting an existing file, and replaces it with --force', async () => {
    const output = path.join(dir, 'existing.gguf');
    fs.writeFileSync(output, 'mine');
    const refused = await runCli(['convert', checkpoint, '-o', output]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already exists');
    expect(fs.readFileSync(output, 'utf8')).toBe('mine');
    expect((await runCli(['convert', checkpoint, '-o', output, '--force', '--quiet'])).code).toBe(0);
    expect(fs.statSync(output).size).toBeGreaterThan(1000);
  });

  it('exits 3 with one line naming the problem for a folder with only pickle weights', async () => {
    const pickled = path.join(dir, 'pickled');
    fs.mkdirSync(pickled);
    fs.copyFileSync(path.join(checkpoint, 'config.json'), path.join(pickled, 'config.json'));
    fs.writeFileSync(path.join(pickled, 'pytorch_model.bin'), 'not really a pickle');
    const result = await runCli(['convert', pickled, '-o', path.join(dir, 'p.gguf')]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('pickle');
    expect(result.stderr).not.toContain('    at ');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.p.gguf'))).toEqual([]);
  });

  it('prints the detected family, tokenizer and every planned tensor with --dry-run, and writes nothing', async () => {
    const moe = await generateCheckpoint({ family: 'qwen3moe' });
    const before = fs.readdirSync(dir);
    const result = await runCli(['convert', moe, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('architecture: Qwen3MoeForCausalLM -> qwen3moe');
    expect(result.stdout).toContain('tokenizer:    gpt2, pre-tokenizer qwen2, chat template kept');
    expect(result.stdout).toMatch(
      /blk\.0\.ffn_gate_exps\.weight +F16 +\[64, 64, 4\] +<- model\.layers\.0\.mlp\.experts\.0\.gate_proj\.weight … model\.layers\.0\.mlp\.experts\.3\.gate_proj\.weight \(4 stacked\)/,
    );
    expect(result.stdout).toMatch(/blk\.0\.ffn_gate_inp\.weight +F32 +\[64, 4\]/);
    expect(fs.readdirSync(dir)).toEqual(before);

    const json = await runCli(['convert', moe, '--dry-run', '--outtype', 'q8_0', '--json']);
    const plan = JSON.parse(json.stdout) as {
      metadata: Record<string, unknown>;
      tensors: Array<{ name: string; type: string }>;
    };
    expect(plan.metadata['qwen3moe.expert_count']).toBe(4);
    expect(plan.tensors.find((t) => t.name === 'blk.1.attn_q.weight')?.type).toBe('Q8_0');
  });

  it('names the closest supported architecture for an unsupported one (exit 3)', async () => {
    const renamed = path.join(dir, 'renamed');
    fs.mkdirSync(renamed);
    for (const file of fs.readdirSync(checkpoint))
      if (file !== 'config.json') fs.symlinkSync(path.join(checkpoint, file), path.join(renamed, file));
    const config = JSON.parse(fs.readFileSync(path.join(checkpoint, 'config.json'), 'utf8')) as object;
    fs.writeFileSync(
      path.join(renamed, 'config.json'),
      JSON.stringify({ ...config, architectures: ['ExaoneForCausalLM'] }),
    );
    const result = await runCli(['convert', renamed, '--dry-run']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'Architecture "ExaoneForCausalLM" is not supported. Closest supported: LlamaForCausalLM (llama)',
    );
  });

  it('exits 2 without -o unless it is a dry run', async () => {
    const result = await runCli(['convert', checkpoint]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Name the GGUF to write with -o FILE, or pass --dry-run.');
  });

  it('also writes the vision projector of a Gemma 3 vision-language checkpoint with --mmproj', async () => {
    const vlm = await generateCheckpoint({ family: 'gemma3-vlm' });
    const output = path.join(dir, 'gemma3-text.gguf');
    const mmproj = path.join(dir, 'mmproj-gemma3.gguf');
    const result = await runCli(['convert', vlm, '-o', output, '--mmproj', mmproj, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ggufArchitecture: string;
      mmproj: { projectorType: string; bytes: number };
    };
    expect(report.ggufArchitecture).toBe('gemma3');
    expect(report.mmproj).toMatchObject({ projectorType: 'gemma3', bytes: fs.statSync(mmproj).size });
    const source = await fileSource(mmproj);
    try {
      expect(getMetadata(await readGguf(source), 'general.architecture')).toBe('clip');
    } finally {
      await source.close?.();
    }
  });
});
