import { describe, expect, it } from '@jest/globals';
import { GgmlType } from '@alki/gguf-reader';
import { qwen3moeArchitecture } from './arch/qwen3moe.js';
import type { SourceTensor } from './input/checkpoint.js';
import { planTensors } from './plan.js';

const config = { num_experts: 2 };

function tensors(specs: Array<[string, number[], string?]>): Map<string, SourceTensor> {
  let offset = 0;
  const map = new Map<string, SourceTensor>();
  for (const [name, shape, dtype = 'F16'] of specs) {
    const byteLength = shape.reduce((a, b) => a * b, 1) * (dtype === 'F32' ? 4 : 2);
    map.set(name, { name, dtype: dtype as 'F16', shape, offset, byteLength, file: 'model.safetensors' });
    offset += byteLength;
  }
  return map;
}

const base: Array<[string, number[], string?]> = [
  ['model.embed_tokens.weight', [10, 8]],
  ['model.norm.weight', [8]],
];

/** Plans the embedding and final norm plus `extra` with the Qwen3-MoE module. */
const plan = (extra: Array<[string, number[], string?]>) =>
  planTensors(qwen3moeArchitecture, config, tensors([...base, ...extra]), 'f16');

describe('planTensors', () => {
  it('stacks each layer’s experts into one 3-D tensor, expert 0 first, in place of the first one read', () => {
    const planned = plan([
      ['model.layers.0.mlp.experts.1.down_proj.weight', [8, 4]],
      ['model.layers.0.mlp.gate.weight', [2, 8]],
      ['model.layers.0.mlp.experts.0.down_proj.weight', [8, 4]],
    ]);
    expect(planned.map((t) => t.name)).toEqual([
      'token_embd.weight',
      'output_norm.weight',
      'blk.0.ffn_down_exps.weight',
      'blk.0.ffn_gate_inp.weight',
    ]);
    const stacked = planned[2];
    expect(stacked.dims).toEqual([4, 8, 2]);
    expect(stacked.type).toBe(GgmlType.F16);
    expect(stacked.sources.map((s) => s.name)).toEqual([
      'model.layers.0.mlp.experts.0.down_proj.weight',
      'model.layers.0.mlp.experts.1.down_proj.weight',
    ]);
    // The router stays F32, as convert_hf_to_gguf keeps FFN_GATE_INP.
    expect(planned[3].type).toBe(GgmlType.F32);
  });

  it('fails when an expert of a stack is missing', () => {
    expect(() => plan([['model.layers.0.mlp.experts.1.up_proj.weight', [4, 8]]])).toThrow(
      'blk.0.ffn_up_exps.weight stacks 2 experts, but the checkpoint has no tensor for expert 0.',
    );
  });

  it('fails when the experts of a stack differ in shape or type', () => {
    expect(() =>
      plan([
        ['model.layers.0.mlp.experts.0.up_proj.weight', [4, 8]],
        ['model.layers.0.mlp.experts.1.up_proj.weight', [5, 8]],
      ]),
    ).toThrow(/experts stacked into blk\.0\.ffn_up_exps\.weight must match/);
    expect(() =>
      plan([
        ['model.layers.0.mlp.experts.0.up_proj.weight', [4, 8], 'F32'],
        ['model.layers.0.mlp.experts.1.up_proj.weight', [4, 8]],
      ]),
    ).toThrow(/is F16 \[4, 8\], but model\.layers\.0\.mlp\.experts\.0\.up_proj\.weight is F32/);
  });

  it('fails on an expert numbered beyond num_experts', () => {
    expect(() => plan([['model.layers.0.mlp.experts.2.up_proj.weight', [4, 8]]])).toThrow(
      'Tensor model.layers.0.mlp.experts.2.up_proj.weight is expert 2, but config.json says there are 2 experts.',
    );
  });
});
