import { describe, expect, it } from '@jest/globals';
import { ggufEntry, GgmlType, ggmlTypeInfo, type GgufTensorInfo } from '@alki/gguf-reader';
import { allowsQuantization, compareTensorNames, planQuantization } from './plan.js';

function model(layers: number, embedding: number, options: { output?: boolean; ff?: number } = {}) {
  const tensors: GgufTensorInfo[] = [];
  const add = (name: string, dims: number[]) =>
    tensors.push({ name, dims, type: GgmlType.F16, offset: 0, byteSize: 0 });
  add('token_embd.weight', [embedding, 100]);
  for (let l = 0; l < layers; l++) {
    add(`blk.${l}.attn_norm.weight`, [embedding]);
    add(`blk.${l}.attn_q.weight`, [embedding, embedding]);
    add(`blk.${l}.attn_v.weight`, [embedding, embedding]);
    add(`blk.${l}.ffn_down.weight`, [options.ff ?? embedding, embedding]);
  }
  if (options.output ?? true) add('output.weight', [embedding, 100]);
  const metadata = [
    ggufEntry.string('general.architecture', 'llama'),
    ggufEntry.uint32('general.file_type', 1),
    ggufEntry.uint32('llama.block_count', layers),
    ggufEntry.string('general.name', 'x'),
  ];
  return { metadata, tensors };
}

const typeOf = (plan: ReturnType<typeof planQuantization>, name: string) =>
  ggmlTypeInfo(plan.tensors.find((t) => t.source.name === name)!.targetType).name;

describe('planQuantization', () => {
  it('orders tensors as llama.cpp does: non-block tensors first, then by block number, then by name', () => {
    const plan = planQuantization(model(12, 256), { mix: 'Q8_0' });
    const names = plan.tensors.map((t) => t.source.name);
    expect(names.slice(0, 2)).toEqual(['output.weight', 'token_embd.weight']);
    expect(names.indexOf('blk.2.attn_q.weight')).toBeLessThan(names.indexOf('blk.10.attn_q.weight'));
    expect(compareTensorNames('blk.9.x', 'blk.10.a')).toBeLessThan(0);
  });

  it('gives attn_v and ffn_down Q6_K in the layers use_more_bits picks for Q4_K_M (first and last eighth, every third between)', () => {
    const plan = planQuantization(model(8, 256), { mix: 'Q4_K_M' });
    // n = 8: i < 1, i >= 7, or (i - 1) % 3 == 2, so layers 0, 3, 6 and 7.
    const q6 = [0, 1, 2, 3, 4, 5, 6, 7].filter((l) => typeOf(plan, `blk.${l}.ffn_down.weight`) === 'Q6_K');
    expect(q6).toEqual([0, 3, 6, 7]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((l) => typeOf(plan, `blk.${l}.attn_v.weight`) === 'Q6_K')).toEqual(
      [0, 3, 6, 7],
    );
    expect(typeOf(plan, 'blk.1.attn_q.weight')).toBe('Q4_K');
  });

  it('sends output.weight to Q6_K, keeps 1-D norms as they are, and token_embd at the base type when untied', () => {
    const plan = planQuantization(model(2, 256), { mix: 'Q5_K_S' });
    expect(typeOf(plan, 'output.weight')).toBe('Q6_K');
    expect(typeOf(plan, 'token_embd.weight')).toBe('Q5_K');
    expect(typeOf(plan, 'blk.0.attn_norm.weight')).toBe('F16');
  });

  it('quantizes tied token embeddings like the output tensor', () => {
    const plan = planQuantization(model(2, 256, { output: false }), { mix: 'Q4_K_M' });
    expect(typeOf(plan, 'token_embd.weight')).toBe('Q6_K');
  });

  it('falls back to 32-weight types, then F16, when rows do not fit the blocks', () => {
    const plan = planQuantization(model(2, 96, { ff: 80 }), { mix: 'Q4_K_S' });
    expect(typeOf(plan, 'blk.1.attn_q.weight')).toBe('Q5_0');
    expect(typeOf(plan, 'blk.1.ffn_down.weight')).toBe('F16');
    expect(plan.tensors.find((t) => t.source.name === 'blk.1.attn_q.weight')!.fallbackFrom).toBe(
      GgmlType.Q4_K,
    );
    // The output tensor takes Q8_0 directly when rows are not a multiple of 256.
    expect(typeOf(plan, 'output.weight')).toBe('Q8_0');
  });

  it('lets the first matching --tensor-type pattern win over the rules', () => {
    const plan = planQuantization(model(2, 256), {
      mix: 'Q4_K_M',
      tensorTypeOverrides: [
        { pattern: 'blk\\.1\\.', type: 'q8_0' },
        { pattern: 'attn', type: 'Q5_0' },
      ],
    });
    expect(typeOf(plan, 'blk.1.attn_v.weight')).toBe('Q8_0');
    expect(typeOf(plan, 'blk.0.attn_q.weight')).toBe('Q5_0');
  });

  it('moves general.quantization_version and general.file_type to the end of the metadata', () => {
    const plan = planQuantization(model(1, 256), { mix: 'Q4_K_M' });
    expect(plan.metadata.slice(-2)).toEqual([
      ggufEntry.uint32('general.quantization_version', 2),
      ggufEntry.uint32('general.file_type', 15),
    ]);
    expect(plan.metadata.filter((e) => e.key === 'general.file_type')).toHaveLength(1);
  });

  it('refuses unknown mixes and types, and models without an architecture', () => {
    expect(() => planQuantization(model(1, 256), { mix: 'TQ1_0' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TYPE' }),
    );
    expect(() =>
      planQuantization(model(1, 256), {
        mix: 'Q8_0',
        tensorTypeOverrides: [{ pattern: 'x', type: 'tq2_0' }],
      }),
    ).toThrow(expect.objectContaining({ code: 'UNKNOWN_TYPE' }));
    expect(() => planQuantization({ metadata: [], tensors: [] }, { mix: 'Q8_0' })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
  });
});

describe('allowsQuantization', () => {
  it('skips 1-D tensors, norms, routers and names that do not end in weight', () => {
    expect(allowsQuantization({ name: 'blk.0.attn_q.weight', dims: [64, 64] })).toBe(true);
    expect(allowsQuantization({ name: 'blk.0.attn_q.weight', dims: [64, 1] })).toBe(false);
    expect(allowsQuantization({ name: 'blk.0.attn_norm.weight', dims: [64, 64] })).toBe(false);
    expect(allowsQuantization({ name: 'blk.0.ffn_gate_inp.weight', dims: [64, 8] })).toBe(false);
    expect(allowsQuantization({ name: 'blk.0.attn_q.bias', dims: [64, 64] })).toBe(false);
    expect(allowsQuantization({ name: 'position_embd.weight', dims: [64, 64] })).toBe(false);
  });
});
