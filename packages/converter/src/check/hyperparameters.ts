// config.json is checked against the tensors it describes, and against
// llama.cpp's limits, before anything is written: a typo or a hostile value
// must give a clear error, never a GGUF that llama.cpp refuses or aborts on,
// nor an allocation sized by a header value. Two passes: `checkConfigBounds`
// on the raw config and tensor list, before any architecture hook reads a
// value; `checkPlannedShapes` on the GGUF metadata and planned tensors, with
// the shapes llama.cpp's loader (create_tensor in src/models/*.cpp) demands.
import { GgufValueType, type GgufMetadataEntry } from '@alki/gguf-reader';
import type { HfConfig } from '../arch/types.js';
import { ConverterError } from '../errors.js';
import type { SourceTensor } from '../input/checkpoint.js';
import type { PlannedTensor } from '../plan.js';
import { LLAMA_MAX_EXPERTS, LLAMA_MAX_LAYERS, UINT32_MAX } from './limits.js';

const DECODER_LAYER = /(?:^|\.)model\.(?:language_model\.|text_model\.)?layers\.(\d+)\./;
const EXPERT = /\.mlp\.experts\.(\d+)\./;

// Sizes that describe tensor dimensions: none can exceed the largest
// dimension any tensor has, which bounds every loop and array they drive.
const SIZE_KEYS = [
  'hidden_size',
  'intermediate_size',
  'head_dim',
  'num_attention_heads',
  'num_key_value_heads',
  'moe_intermediate_size',
  'shared_expert_intermediate_size',
  'num_experts_per_tok',
];
// Values GGUF stores as uint32 that no tensor bounds.
const UINT32_KEYS = [
  'max_position_embeddings',
  'n_positions',
  'sliding_window',
  'original_max_position_embeddings',
];

function badConfig(key: string, message: string, details: Record<string, unknown>): ConverterError {
  return new ConverterError('BAD_CONFIG', message, {
    details: { key, ...details },
    hint: 'config.json does not describe these weights: fix the key, or download the model again.',
  });
}

function integerValue(config: HfConfig, key: string): number | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badConfig(
      key,
      `config.json's ${key} is ${JSON.stringify(value)}; it must be a non-negative integer.`,
      { value },
    );
  }
  return value;
}

/**
 * Checks the counts in config.json against the tensors present and against
 * llama.cpp's limits: num_hidden_layers equals the decoder layers the
 * weights hold and is at most LLAMA_MAX_LAYERS, num_experts equals the
 * experts present, vocab_size and hidden_size match the embedding, sizes
 * are integers no larger than the largest tensor dimension. O(tensors).
 *
 * @example
 * checkConfigBounds(checkpoint.config, checkpoint.tensors); // throws BAD_CONFIG naming the key and both values
 */
export function checkConfigBounds(config: HfConfig, tensors: Map<string, SourceTensor>): void {
  const layers = new Set<number>();
  const experts = new Set<number>();
  let largestDim = 0;
  let embedding: SourceTensor | undefined;
  for (const tensor of tensors.values()) {
    for (const dim of tensor.shape) largestDim = Math.max(largestDim, dim);
    const layer = DECODER_LAYER.exec(tensor.name);
    if (layer) layers.add(Number(layer[1]));
    const expert = EXPERT.exec(tensor.name);
    if (expert) experts.add(Number(expert[1]));
    if (/(?:^|\.)embed_tokens\.weight$/.test(tensor.name) && !/vision|audio/.test(tensor.name))
      embedding = tensor;
  }

  const declaredLayers = integerValue(config, 'num_hidden_layers');
  if (declaredLayers === undefined) {
    throw badConfig('num_hidden_layers', 'config.json has no num_hidden_layers.', {});
  }
  if (declaredLayers < 1 || declaredLayers > LLAMA_MAX_LAYERS) {
    throw badConfig(
      'num_hidden_layers',
      `config.json's num_hidden_layers is ${declaredLayers}; llama.cpp loads 1 to ${LLAMA_MAX_LAYERS} layers (LLAMA_MAX_LAYERS), and the weights hold ${layers.size}.`,
      { value: declaredLayers, limit: LLAMA_MAX_LAYERS, actual: layers.size },
    );
  }
  const highest = Math.max(-1, ...layers);
  if (declaredLayers !== layers.size || highest !== layers.size - 1) {
    throw badConfig(
      'num_hidden_layers',
      `config.json's num_hidden_layers is ${declaredLayers}, but the weights hold ${layers.size} decoder layer(s)${layers.size ? ` (numbered up to ${highest})` : ''}.`,
      { value: declaredLayers, actual: layers.size },
    );
  }

  const declaredExperts = integerValue(config, 'num_experts') ?? integerValue(config, 'num_local_experts');
  if (declaredExperts !== undefined || experts.size) {
    const key = config.num_experts !== undefined ? 'num_experts' : 'num_local_experts';
    const value = declaredExperts ?? 0;
    if (
      value > LLAMA_MAX_EXPERTS ||
      value !== experts.size ||
      Math.max(-1, ...experts) !== experts.size - 1
    ) {
      throw badConfig(
        key,
        `config.json's ${key} is ${value}, but the weights hold ${experts.size} expert(s) per layer${value > LLAMA_MAX_EXPERTS ? ` (llama.cpp allows at most ${LLAMA_MAX_EXPERTS}, LLAMA_MAX_EXPERTS)` : ''}.`,
        { value, actual: experts.size, limit: LLAMA_MAX_EXPERTS },
      );
    }
  }

  for (const key of SIZE_KEYS) {
    const value = integerValue(config, key);
    if (value !== undefined && value > largestDim) {
      throw badConfig(
        key,
        `config.json's ${key} is ${value}, larger than any dimension of any tensor in the weights (at most ${largestDim}).`,
        { value, actual: largestDim },
      );
    }
  }
  for (const key of UINT32_KEYS) {
    const value = integerValue(config, key);
    if (value !== undefined && value > UINT32_MAX) {
      throw badConfig(
        key,
        `config.json's ${key} is ${value}; GGUF stores it as a 32-bit count (at most ${UINT32_MAX}).`,
        { value, limit: UINT32_MAX },
      );
    }
  }

  if (embedding) {
    const [rows, width] = embedding.shape;
    for (const [key, actual, what] of [
      ['vocab_size', rows, 'rows'],
      ['hidden_size', width, 'columns'],
    ] as const) {
      const value = integerValue(config, key);
      if (value !== undefined && value !== actual) {
        throw badConfig(
          key,
          `config.json's ${key} is ${value}, but ${embedding.name} has ${actual} ${what}.`,
          {
            value,
            actual,
          },
        );
      }
    }
  }
}

/** A dimension llama.cpp expects, and the config keys it comes from. */
interface Expected {
  value: number;
  /** "num_attention_heads × head_dim (4 × 16)" */
  from: string;
}

type Metadata = Map<string, unknown>;

function dimensionRules(arch: string, metadata: Metadata) {
  const get = (key: string): number | undefined => {
    const value = metadata.get(`${arch}.${key}`);
    return typeof value === 'number' ? value : undefined;
  };
  const hidden = get('embedding_length') ?? 0;
  const heads = get('attention.head_count') ?? 0;
  const kvHeads = get('attention.head_count_kv') ?? heads;
  const keyLength = get('attention.key_length') ?? (heads ? hidden / heads : 0);
  const valueLength = get('attention.value_length') ?? keyLength;
  const ff = get('feed_forward_length');
  const experts = get('expert_count');
  const expertFf = get('expert_feed_forward_length');
  const sharedFf = get('expert_shared_feed_forward_length') ?? ff;
  const vocab = get('vocab_size');

  const E: Expected = { value: hidden, from: `hidden_size (${hidden})` };
  const product = (a: string, av: number, b: string, bv: number): Expected => ({
    value: av * bv,
    from: `${a} × ${b} (${av} × ${bv})`,
  });
  const q = product('num_attention_heads', heads, 'head_dim', keyLength);
  const k = product('num_key_value_heads', kvHeads, 'head_dim', keyLength);
  const v = product('num_key_value_heads', kvHeads, 'head_dim', valueLength);
  const o = product('num_attention_heads', heads, 'head_dim', valueLength);
  const F = ff === undefined ? undefined : { value: ff, from: `intermediate_size (${ff})` };
  const X = experts === undefined ? undefined : { value: experts, from: `num_experts (${experts})` };
  const Fx =
    expertFf === undefined ? undefined : { value: expertFf, from: `moe_intermediate_size (${expertFf})` };
  const Fs =
    sharedFf === undefined
      ? undefined
      : { value: sharedFf, from: `shared_expert_intermediate_size (${sharedFf})` };
  const V = vocab === undefined ? undefined : { value: vocab, from: `vocab_size (${vocab})` };
  const headNorm = (h: number): Expected[] => [
    { value: keyLength, from: `head_dim (${keyLength})` },
    { value: h * keyLength, from: `heads × head_dim (${h} × ${keyLength})` },
  ];

  // Each rule: the allowed shapes (ggml order), any one of which fits.
  const rules: Record<string, (Expected | undefined)[][]> = {
    token_embd: [[E, V]],
    output: [[E, V]],
    attn_q: [[E, q]],
    attn_k: [[E, k]],
    attn_v: [[E, v]],
    attn_output: [[o, E]],
    attn_qkv: [[E, { value: q.value + k.value + v.value, from: `${q.from} + 2 × ${k.from}` }]],
    ffn_gate: [[E, F]],
    ffn_up: F
      ? [
          [E, F],
          [E, { value: 2 * F.value, from: `2 × ${F.from}` }],
        ]
      : [[E, F]],
    ffn_down: [[F, E]],
    ffn_gate_inp: [[E, X]],
    ffn_gate_exps: [[E, Fx, X]],
    ffn_up_exps: [[E, Fx, X]],
    ffn_down_exps: [[Fx, E, X]],
    ffn_gate_shexp: [[E, Fs]],
    ffn_up_shexp: [[E, Fs]],
    ffn_down_shexp: [[Fs, E]],
    ffn_gate_inp_shexp: [[E], [E, { value: 1, from: '1' }]],
    attn_q_norm: headNorm(heads).map((d) => [d]),
    attn_k_norm: headNorm(kvHeads).map((d) => [d]),
  };
  for (const norm of ['attn_norm', 'ffn_norm', 'output_norm', 'post_attention_norm', 'post_ffw_norm'])
    rules[norm] = [[E]];
  return rules;
}

const SOURCE_OF = (tensor: PlannedTensor) =>
  tensor.sources.length > 1
    ? `${tensor.sources[0].name} (and ${tensor.sources.length - 1} more experts)`
    : (tensor.sources[0]?.name ?? tensor.name);

/**
 * Checks every planned tensor's shape against what llama.cpp's loader will
 * derive from the metadata about to be written (heads, head size,
 * feed-forward and expert sizes, vocabulary), and that the blocks are
 * exactly 0..block_count-1. The error names the config keys and both values.
 *
 * @example
 * checkPlannedShapes('qwen3', metadata, plan);
 */
export function checkPlannedShapes(arch: string, entries: GgufMetadataEntry[], plan: PlannedTensor[]): void {
  const metadata: Metadata = new Map(entries.map((e) => [e.key, e.value]));
  for (const entry of entries) {
    if (entry.type === GgufValueType.UINT32) {
      const value = entry.value as number;
      if (!Number.isSafeInteger(value) || value < 0 || value > UINT32_MAX) {
        throw new ConverterError(
          'BAD_CONFIG',
          `${entry.key} would be ${value}, which is not a 32-bit count; check the config.json value it comes from.`,
          { details: { key: entry.key, value } },
        );
      }
    }
  }
  const rules = dimensionRules(arch, metadata);
  const blocks = new Set<number>();
  for (const tensor of plan) {
    if (tensor.computed) continue;
    const match = /^(?:blk\.(\d+)\.)?(.+)\.(weight|bias)$/.exec(tensor.name);
    if (!match) continue;
    if (match[1] !== undefined) blocks.add(Number(match[1]));
    if (match[3] !== 'weight') continue;
    const shapes = rules[match[2]];
    if (!shapes) continue;
    const fits = shapes.some(
      (shape) =>
        shape.length === tensor.dims.length &&
        shape.every((expected, i) => expected === undefined || expected.value === tensor.dims[i]),
    );
    if (fits) continue;
    const shape = shapes[0];
    const wrong = shape.findIndex(
      (expected, i) => expected !== undefined && expected.value !== tensor.dims[i],
    );
    const expected = shape[Math.max(0, wrong)];
    const hfDims = [...tensor.dims].reverse().join(', ');
    throw new ConverterError(
      'BAD_CONFIG',
      wrong >= 0 && expected
        ? `config.json's ${expected.from.includes('×') ? `${expected.from} = ${expected.value}` : expected.from}, but ${SOURCE_OF(tensor)} has ${tensor.dims[wrong]} there (shape [${hfDims}]).`
        : `${SOURCE_OF(tensor)} has ${tensor.dims.length} dimensions [${hfDims}]; llama.cpp expects ${shape.length}.`,
      {
        details: { tensor: tensor.name, shape: tensor.dims, expected: expected?.from },
        hint: 'config.json does not describe these weights: fix the key, or download the model again.',
      },
    );
  }
  const blockCount = metadata.get(`${arch}.block_count`);
  if (typeof blockCount === 'number') {
    for (let i = 0; i < blockCount; i++) {
      if (!blocks.has(i)) {
        throw new ConverterError(
          'BAD_CONFIG',
          `config.json's num_hidden_layers is ${blockCount}, but the weights have no tensors for layer ${i}.`,
          { details: { key: 'num_hidden_layers', value: blockCount, missing: i } },
        );
      }
    }
  }
}
