// Which type each tensor gets, and the output header, following
// src/llama-quant.cpp (llama_model_quantize_impl, llama_tensor_get_type,
// llama_tensor_get_type_impl, tensor_allows_quantization,
// tensor_type_fallback). Pure: plain data in, plain data out.
import {
  ggmlTypeInfo,
  ggufEntry,
  GgmlType,
  type GgufFile,
  type GgufMetadataEntry,
  type GgufTensorInfo,
} from '@alki/gguf-reader';
import { BLOCK_FORMATS, isQuantType } from './blocks/block-types.js';
import { QuantizerError } from './errors.js';
import { mixInfo, tensorTypeFromName, type QuantMix } from './mixes.js';

/** GGML_QNT_VERSION in ggml/include/ggml.h, written to general.quantization_version. */
export const QUANTIZATION_VERSION = 2;

/** A --tensor-type override: the first pattern (a regular expression searched in the name) that matches wins. */
export interface TensorTypeOverride {
  pattern: string;
  type: string;
}

export interface PlanOptions {
  mix: QuantMix | string;
  /** Quantize every tensor to the mix's default type, without the per-tensor rules (llama-quantize --pure). */
  pure?: boolean;
  tensorTypeOverrides?: TensorTypeOverride[];
  /** Allow input tensors that are already quantized (llama-quantize --allow-requantize). */
  allowRequantize?: boolean;
}

/** One output tensor. */
export interface PlannedTensor {
  source: GgufTensorInfo;
  targetType: GgmlType;
  /** True when the bytes change (the types differ); false means a plain copy. */
  convert: boolean;
  /** Set when the row length forced a fallback from the rule's choice. */
  fallbackFrom?: GgmlType;
}

export interface QuantizationPlan {
  fileType: number;
  metadata: GgufMetadataEntry[];
  /** In llama.cpp's order (weight_name_comparer): by block number, then by name. */
  tensors: PlannedTensor[];
}

type Category =
  | 'token_embd'
  | 'attn_q'
  | 'attn_v'
  | 'attn_k'
  | 'attn_qkv'
  | 'attn_kv_b'
  | 'attn_output'
  | 'ffn_up'
  | 'ffn_gate'
  | 'ffn_down'
  | 'output'
  | 'other';

// tensor_get_category: the first match wins, so "attn_qkv" is tested before "attn_v".
function categoryOf(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  const contains: Array<[string, Category]> = [
    ['attn_qkv.weight', 'attn_qkv'],
    ['attn_kv_b.weight', 'attn_kv_b'],
    ['attn_v.weight', 'attn_v'],
    ['attn_k.weight', 'attn_k'],
    ['attn_q.weight', 'attn_q'],
    ['attn_output.weight', 'attn_output'],
    ['ffn_up', 'ffn_up'],
    ['ffn_gate', 'ffn_gate'],
    ['ffn_down', 'ffn_down'],
  ];
  for (const [needle, category] of contains) if (name.includes(needle)) return category;
  return 'other';
}

const isAttnVLike = (c: Category): boolean => c === 'attn_v' || c === 'attn_qkv' || c === 'attn_kv_b';

// Substrings that tensor_allows_quantization never quantizes: norms, expert
// routers, tiny or positional tensors, conv and RWKV mixing weights, multimodal
// position tables and audio codebooks.
const NEVER_QUANTIZED = [
  '_norm.weight',
  'ffn_gate_inp.weight',
  'ffn_gate_tid2eid.weight',
  'altup',
  'laurel',
  'per_layer_model_proj',
  'ssm_conv1d',
  'shortconv.conv.weight',
  'indexer.k_proj.weight',
  'indexer.q_proj.weight',
  ...[
    'first',
    'w0',
    'w1',
    'w2',
    'v0',
    'v1',
    'v2',
    'a0',
    'a1',
    'a2',
    'g1',
    'g2',
    'decay_w1',
    'decay_w2',
    'lerp_fused',
  ].map((s) => `time_mix_${s}.weight`),
  'attn_rel_b.weight',
  '.position_embd',
  'sam.pos_embd',
  'sam.neck.',
  'sam.net_',
  '.rel_pos',
  '.patch_embd',
  '.patch_merger',
  'a.rvq.codebook',
  'mm.a.code_embd',
];

/** ggml_n_dims: trailing dimensions of 1 do not count. */
function nDims(dims: readonly number[]): number {
  let n = dims.length;
  while (n > 1 && dims[n - 1] === 1) n--;
  return n;
}

/** tensor_allows_quantization for the default parameters (quantize_output_tensor on, only_copy off). */
export function allowsQuantization(tensor: Pick<GgufTensorInfo, 'name' | 'dims'>): boolean {
  const { name } = tensor;
  if (nDims(tensor.dims) < 2) return false;
  if (!name.endsWith('weight')) return false;
  if (name === 'position_embd.weight' || name === 'token_types.weight') return false;
  return !NEVER_QUANTIZED.some((needle) => name.includes(needle));
}

/** The block number of "blk.N.…" names, or -1, as weight_name_comparer's sscanf reads it. */
function blockNumber(name: string): number {
  const match = /^blk\.([+-]?\d+)/.exec(name);
  return match ? Number.parseInt(match[1], 10) : -1;
}

/** llama_model_loader's weight_name_comparer: block number first, then the name byte by byte. */
export function compareTensorNames(a: string, b: string): number {
  const la = blockNumber(a);
  const lb = blockNumber(b);
  if (la !== lb) return la - lb;
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}

interface ModelFacts {
  arch: string;
  nLayer: number;
  nExpert: number;
  is70B: boolean;
}

function modelFacts(file: Pick<GgufFile, 'metadata'>): ModelFacts {
  const get = (key: string) => file.metadata.find((e) => e.key === key)?.value;
  const arch = get('general.architecture');
  if (typeof arch !== 'string') {
    throw new QuantizerError(
      'INVALID_INPUT',
      'The GGUF has no general.architecture, so it is not a model llama.cpp can quantize.',
    );
  }
  const nLayer = Number(get(`${arch}.block_count`) ?? 0);
  if (!Number.isInteger(nLayer) || nLayer <= 0) {
    throw new QuantizerError('INVALID_INPUT', `The GGUF has no usable ${arch}.block_count.`, {
      details: { arch },
    });
  }
  const nExpert = Number(get(`${arch}.expert_count`) ?? 0);
  // LLM_TYPE_70B (llama-model.cpp load_hparams): a llama with 80 layers and grouped-query attention.
  const heads = get(`${arch}.attention.head_count`);
  const headsKv = get(`${arch}.attention.head_count_kv`) ?? heads;
  const is70B = arch === 'llama' && nLayer === 80 && typeof heads === 'number' && heads !== headsKv;
  return { arch, nLayer, nExpert, is70B };
}

interface Counters {
  nAttentionWv: number;
  iAttentionWv: number;
  iFfnDown: number;
  iFfnGate: number;
  iFfnUp: number;
  tiedEmbeddings: boolean;
}

const useMoreBits = (i: number, n: number): boolean =>
  i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

// llama_tensor_get_type_impl, for the mixes Alki writes.
function ruleType(
  type: GgmlType,
  tensor: GgufTensorInfo,
  mix: QuantMix,
  category: Category,
  model: ModelFacts,
  counters: Counters,
): GgmlType {
  const falcon = model.arch === 'falcon';
  // With experts the layer comes from the name; otherwise from the running count.
  const layerOf = (counter: number): [number, number] => {
    if (model.nExpert <= 1) return [counter, model.nLayer];
    const layer = blockNumber(tensor.name);
    if (!/^blk\.[+-]?\d+\./.test(tensor.name) || layer < 0 || layer >= model.nLayer) {
      throw new QuantizerError('INVALID_INPUT', `Cannot tell the layer of tensor "${tensor.name}".`, {
        details: { tensor: tensor.name },
      });
    }
    return [layer, model.nLayer];
  };

  if (category === 'output' || (counters.tiedEmbeddings && category === 'token_embd')) {
    const blockSize = ggmlTypeInfo(type).blockSize;
    if (falcon || tensor.dims[0] % blockSize !== 0) return GgmlType.Q8_0;
    return type !== GgmlType.Q8_0 ? GgmlType.Q6_K : type;
  }
  if (category === 'token_embd') return type;
  if (isAttnVLike(category)) {
    let t = type;
    if ((mix === 'Q4_K_M' || mix === 'Q5_K_M') && useMoreBits(counters.iAttentionWv, counters.nAttentionWv))
      t = GgmlType.Q6_K;
    else if (mix === 'Q4_K_S' && counters.iAttentionWv < 4) t = GgmlType.Q5_K;
    if (model.is70B && t === GgmlType.Q4_K) t = GgmlType.Q5_K;
    if (model.nExpert === 8) t = GgmlType.Q8_0;
    counters.iAttentionWv++;
    return t;
  }
  if (category === 'attn_k') return model.nExpert === 8 ? GgmlType.Q8_0 : type;
  if (category === 'ffn_down') {
    const [i, n] = layerOf(counters.iFfnDown);
    let t = type;
    if (mix === 'Q4_K_M') {
      if (falcon)
        t = i < Math.trunc(n / 16) ? GgmlType.Q6_K : useMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
      else if (useMoreBits(i, n)) t = GgmlType.Q6_K;
    } else if (mix === 'Q5_K_M' && useMoreBits(i, n)) t = GgmlType.Q6_K;
    else if (mix === 'Q4_K_S' && !falcon && i < Math.trunc(n / 8)) t = GgmlType.Q5_K;
    counters.iFfnDown++;
    return t;
  }
  if (category === 'attn_output') {
    return !falcon && model.nExpert === 8 && (mix === 'Q4_K_S' || mix === 'Q4_K_M') ? GgmlType.Q5_K : type;
  }
  if (category === 'ffn_gate' || category === 'ffn_up') {
    // Only the IQ3_XS mix changes these, but the layer check (and its error) still runs.
    layerOf(category === 'ffn_gate' ? counters.iFfnGate : counters.iFfnUp);
    if (category === 'ffn_gate') counters.iFfnGate++;
    else counters.iFfnUp++;
  }
  return type;
}

// tensor_type_fallback: a row length that is not a multiple of the block size
// takes the nearest 32-weight type, and F16 when even that does not fit.
function fallbackType(tensor: GgufTensorInfo, type: GgmlType): GgmlType {
  const columns = tensor.dims[0];
  const blockSize = ggmlTypeInfo(type).blockSize;
  if (columns % blockSize === 0) return type;
  const demoted: Partial<Record<GgmlType, GgmlType>> = {
    [GgmlType.Q4_K]: GgmlType.Q5_0,
    [GgmlType.Q5_K]: GgmlType.Q5_1,
    [GgmlType.Q6_K]: GgmlType.Q8_0,
  };
  const next = demoted[type] ?? type;
  return columns % ggmlTypeInfo(next).blockSize === 0 ? next : GgmlType.F16;
}

const SPLIT_KEYS = new Set(['split.no', 'split.count', 'split.tensors.count']);

/**
 * Plans a quantization: each tensor's output type, in llama.cpp's tensor
 * order, and the output metadata (the input's, with general.quantization_version
 * and general.file_type moved to the end, split keys removed), exactly as
 * llama-quantize writes them.
 *
 * @example
 * const plan = planQuantization(await readGguf(source), { mix: 'Q4_K_M' });
 * plan.tensors.map((t) => [t.source.name, GgmlType[t.targetType]]);
 */
export function planQuantization(
  file: Pick<GgufFile, 'metadata' | 'tensors'>,
  options: PlanOptions,
): QuantizationPlan {
  const { mix, fileType, defaultType } = mixInfo(options.mix);
  const model = modelFacts(file);
  const overrides = (options.tensorTypeOverrides ?? []).map(({ pattern, type }) => {
    let regex: RegExp;
    try {
      // llama-quantize lowercases the pattern (tools/quantize/quantize.cpp parse_tensor_type).
      regex = new RegExp(pattern.toLowerCase());
    } catch (cause) {
      throw new QuantizerError(
        'UNKNOWN_TYPE',
        `The tensor pattern "${pattern}" is not a valid regular expression.`,
        { cause },
      );
    }
    return { regex, type: tensorTypeFromName(type) };
  });

  const sorted = [...file.tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const categories = sorted.map((t) => categoryOf(t.name));
  const counters: Counters = {
    nAttentionWv: categories.filter(isAttnVLike).length,
    iAttentionWv: 0,
    iFfnDown: 0,
    iFfnGate: 0,
    iFfnUp: 0,
    tiedEmbeddings: !categories.includes('output'),
  };

  const tensors = sorted.map((source, index): PlannedTensor => {
    if (!allowsQuantization(source)) return { source, targetType: source.type, convert: false };
    let type: GgmlType = defaultType;
    const override = overrides.find((o) => o.regex.test(source.name));
    if (override) type = override.type;
    else if (!options.pure) type = ruleType(type, source, mix, categories[index], model, counters);
    const targetType = fallbackType(source, type);
    const planned: PlannedTensor = { source, targetType, convert: targetType !== source.type };
    if (targetType !== type) planned.fallbackFrom = type;
    return planned;
  });

  for (const planned of tensors) {
    if (!planned.convert) continue;
    const sourceType = planned.source.type;
    const readable =
      sourceType === GgmlType.F32 || sourceType === GgmlType.F16 || sourceType === GgmlType.BF16;
    if (!readable && !isQuantType(sourceType)) {
      throw new QuantizerError(
        'UNSUPPORTED_TYPE',
        `Tensor "${planned.source.name}" is ${ggmlTypeInfo(sourceType).name}, which Alki cannot read.`,
        {
          hint: 'Start from an F32, F16 or BF16 GGUF.',
          details: { tensor: planned.source.name, type: ggmlTypeInfo(sourceType).name },
        },
      );
    }
    if (!readable && !options.allowRequantize) {
      throw new QuantizerError(
        'REQUANTIZE_REFUSED',
        `Tensor "${planned.source.name}" is already quantized (${BLOCK_FORMATS.get(sourceType as never)?.name}); requantizing loses quality.`,
        {
          hint: 'Quantize from the F16 or F32 GGUF, or pass --allow-requantize.',
          details: { tensor: planned.source.name },
        },
      );
    }
  }

  const metadata = file.metadata.filter(
    (e) =>
      !SPLIT_KEYS.has(e.key) && e.key !== 'general.quantization_version' && e.key !== 'general.file_type',
  );
  metadata.push(
    ggufEntry.uint32('general.quantization_version', QUANTIZATION_VERSION),
    ggufEntry.uint32('general.file_type', fileType),
  );
  return { fileType, metadata, tensors };
}
