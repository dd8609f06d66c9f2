// Settings llama.cpp hard-codes per architecture: a config.json that asks
// for something else is refused instead of converting to a GGUF that loads
// and quietly computes another model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { generateCheckpoint, type CheckpointFamily } from '@alki/testkit';
import { planConversion } from '../convert.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-assumptions-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function planWith(family: CheckpointFamily, edit: (config: Record<string, unknown>) => void) {
  const source = await generateCheckpoint({ family });
  const dir = fs.mkdtempSync(path.join(work, `${family}-`));
  for (const file of fs.readdirSync(source))
    if (file !== 'config.json') fs.symlinkSync(path.join(source, file), path.join(dir, file));
  const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  > & {
    text_config?: Record<string, unknown>;
  };
  edit(config.text_config ?? config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return planConversion({ input: dir });
}

describe('llama.cpp assumptions', () => {
  it('writes gemma3 sliding_window_pattern only when it is not llama.cpp’s default of 6', async () => {
    const two = await planWith('gemma3', () => undefined);
    expect(two.metadata['gemma3.attention.sliding_window_pattern']).toBe(2);
    expect(two.metadata['gemma3.attention.sliding_window']).toBe(4);
    expect(two.metadata['gemma3.rope.freq_base_swa']).toBe(10000);
    const six = await planWith('gemma3', (c) => {
      delete c.layer_types;
      c.sliding_window_pattern = 6;
    });
    expect(six.metadata['gemma3.attention.sliding_window_pattern']).toBeUndefined();
  }, 120_000);

  it('refuses gemma3 layer types that no period expresses', async () => {
    await expect(
      planWith('gemma3', (c) => {
        c.layer_types = ['full_attention', 'sliding_attention'];
      }),
    ).rejects.toThrow("config.json's layer_types is not a repeating pattern");
  }, 120_000);

  it('writes the linear RoPE scaling of a Gemma 3 vision-language checkpoint’s text model', async () => {
    const plan = await planWith('gemma3-vlm', () => undefined);
    expect(plan.architecture).toBe('Gemma3ForConditionalGeneration');
    expect(plan.metadata['gemma3.rope.scaling.type']).toBe('linear');
    expect(plan.metadata['gemma3.rope.scaling.factor']).toBe(8);
    expect(plan.tensors.some((t) => t.sources.some((s) => s.startsWith('vision_tower.')))).toBe(false);
  }, 120_000);

  it('refuses SmolLM3 NoPE layers other than every fourth', async () => {
    await expect(
      planWith('smollm3', (c) => {
        c.no_rope_layers = [1, 1, 0, 1];
      }),
    ).rejects.toThrow('no_rope_layers is not "no RoPE on every 4th layer"');
  }, 120_000);

  it('writes every Granite multiplier, with transformers’ default of 1 for one left out', async () => {
    const plan = await planWith('granite', (c) => {
      delete c.residual_multiplier;
    });
    expect(plan.metadata['granite.attention.scale']).toBeCloseTo(0.3);
    expect(plan.metadata['granite.embedding_scale']).toBe(3);
    expect(plan.metadata['granite.residual_scale']).toBe(1);
    expect(plan.metadata['granite.logit_scale']).toBe(1.5);
  }, 120_000);

  it('refuses a Qwen3-MoE router without renormalised weights, and a Qwen2-MoE one with them', async () => {
    await expect(planWith('qwen3moe', (c) => (c.norm_topk_prob = false))).rejects.toThrow(
      "norm_topk_prob is false, but llama.cpp's qwen3moe always renormalises",
    );
    await expect(planWith('qwen2moe', (c) => (c.norm_topk_prob = true))).rejects.toThrow(
      "norm_topk_prob is true, but llama.cpp's qwen2moe never renormalises",
    );
  }, 120_000);

  it('refuses MoE layers that are dense', async () => {
    await expect(planWith('qwen2moe', (c) => (c.mlp_only_layers = [1]))).rejects.toThrow(
      "llama.cpp's qwen2moe expects experts in every layer",
    );
  }, 120_000);
});
