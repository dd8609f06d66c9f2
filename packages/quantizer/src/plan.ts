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
import { setMetadata } from './kv-override.js';
import { mixInfo, tensorTypeFromName, type QuantMix } from './mixes.js';

/** GGML_QNT_VERSION in ggml/include/ggml.h, written to general.quantization_version. */
export const QUANTIZATION_VERSION = 2;

/** A --tensor-type override: the first pattern (a regular expression searched in the name) that matches wins. */
export interface TensorTypeOverride {
  pattern: string;
  type: string;
}

export interface PlanOptions {
  /** A mix name (a `QuantMix`, in any case, as `mixInfo` reads it); any other name is refused. */
  mix: string;
  /** Quantize every tensor to the mix's default type, without the per-tensor rules (llama-quantize --pure). */
  pure?: boolean;
  tensorTypeOverrides?: TensorTypeOverride[];
  /** Allow input tensors that are already quantized (llama-quantize --allow-requantize). */
  allowRequantize?: boolean;
  /** The type of output.weight (llama-quantize --output-tensor-type). */
  outputTensorType?: string;
  /** The type of the token embeddings (llama-quantize --token-embedding-type). */
  tokenEmbeddingType?: string;
  /** Copy output.weight as it is (llama-quantize --leave-output-tensor). */
  leaveOutputTensor?: boolean;
  /**
   * Importance vectors by tensor name (an importance matrix after --include-weights and
   * --exclude-weights): each is ne[0] values per expert. Given, the imatrix rules apply.
   */
  importance?: ReadonlyMap<string, Float32Array>;
  /**
   * Metadata entries to set in the output (--override-kv, then the imatrix
   * keys), in order: each replaces a key of the same name and goes to the end.
   */
  metadataOverrides?: readonly GgufMetadataEntry[];
  /** Block numbers to drop; the blocks after them are renumbered (llama-quantize --prune-layers). */
  pruneLayers?: readonly number[];
  /**
   * Keep the input's shards: tensors in shard and offset order, one output file
   * per shard (llama-quantize --keep-split). Input tensors carry their `shard`.
   */
  keepSplit?: boolean;
}

/** A tensor of the input, with the shard that holds it when the model is split. */
export type InputTensor = GgufTensorInfo & { shard?: number };

/** One output tensor. */
export interface PlannedTensor {
  /** Its name in the output (blocks renumbered after --prune-layers). */
  name: string;
  source: InputTensor;
  /** The output file it goes to (0 unless keeping a split input's shards). */
  split: number;
  targetType: GgmlType;
  /** True when the bytes change (the types differ); false means a plain copy. */
  convert: boolean;
  /** Set when the row length forced a fallback from the rule's choice. */
  fallbackFrom?: GgmlType;
  /** The importance vector the quantizer weighs this tensor's rows by (ne[0] values per expert). */
  importance?: Float32Array;
}

export interface QuantizationPlan {
  fileType: number;
  /** The first output file's metadata; the others have only the split.* keys (splitMetadata). */
  metadata: GgufMetadataEntry[];
  /**
   * In llama.cpp's order: weight_name_comparer (by block number, then by
   * name), or shard and offset with keepSplit.
   */
  tensors: PlannedTensor[];
  /** Output files: the input's shard count with keepSplit, else 1. */
  splitCount: number;
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
export function nDims(dims: readonly number[]): number {
  let n = dims.length;
  while (n > 1 && dims[n - 1] === 1) n--;
  return n;
}

/**
 * tensor_allows_quantization: whether llama-quantize may change a tensor's
 * type (not with --leave-output-tensor for output.weight).
 */
export function allowsQuantization(
  tensor: Pick<GgufTensorInfo, 'name' | 'dims'>,
  options: { leaveOutputTensor?: boolean } = {},
): boolean {
  const { name } = tensor;
  if (nDims(tensor.dims) < 2) return false;
  if (!name.endsWith('weight')) return false;
  if (options.leaveOutputTensor && name === 'output.weight') return false;
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
  /** hparams.n_gqa(): query heads per key/value head in layer 0, 0 without key/value heads. */
  nGqa: number;
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
  // Head counts may be per-layer arrays; n_gqa() reads layer 0.
  const first = (value: unknown): number | undefined => {
    const v =
      typeof value === 'object' && value !== null && 'items' in value ? (value.items as unknown[])[0] : value;
    return typeof v === 'number' ? v : undefined;
  };
  const heads = first(get(`${arch}.attention.head_count`)) ?? 0;
  const headsKv = first(get(`${arch}.attention.head_count_kv`)) ?? heads;
  const nGqa = headsKv === 0 ? 0 : Math.trunc(heads / headsKv);
  // LLM_TYPE_70B (llama-model.cpp load_hparams): a llama with 80 layers and grouped-query attention.
  const is70B = arch === 'llama' && nLayer === 80 && heads !== headsKv;
  return { arch, nLayer, nExpert, nGqa, is70B };
}

interface Counters {
  hasImatrix: boolean;
  /** --output-tensor-type, which a tied token embedding follows too. */
  outputType?: GgmlType;
  nAttentionWv: number;
  iAttentionWv: number;
  iFfnDown: number;
  iFfnGate: number;
  iFfnUp: number;
  tiedEmbeddings: boolean;
}

const useMoreBits = (i: number, n: number): boolean =>
  i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

// llama_tensor_get_type_impl, for the mixes Alki writes. Each branch keeps
// C's order: the first matching condition wins.
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
  const { nGqa, nExpert } = model;
  const eighth = (n: number) => Math.trunc(n / 8);

  if (category === 'output' || (counters.tiedEmbeddings && category === 'token_embd')) {
    if (counters.outputType !== undefined) return counters.outputType;
    const blockSize = ggmlTypeInfo(type).blockSize;
    if (falcon || tensor.dims[0] % blockSize !== 0) return GgmlType.Q8_0;
    return type !== GgmlType.Q8_0 ? GgmlType.Q6_K : type;
  }
  if (category === 'token_embd') return type;
  if (isAttnVLike(category)) {
    let t = type;
    const i = counters.iAttentionWv;
    if (mix === 'Q2_K') t = nGqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
    else if (mix === 'Q2_K_S' && nGqa >= 4) t = GgmlType.Q4_K;
    else if (mix === 'Q3_K_M') t = i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
    else if (mix === 'Q3_K_L') t = GgmlType.Q5_K;
    else if ((mix === 'IQ4_NL' || mix === 'IQ4_XS') && nGqa >= 4) t = GgmlType.Q5_K;
    else if ((mix === 'Q4_K_M' || mix === 'Q5_K_M') && useMoreBits(i, counters.nAttentionWv))
      t = GgmlType.Q6_K;
    else if (mix === 'Q4_K_S' && i < 4) t = GgmlType.Q5_K;
    // The 70B's attn_v is 8x smaller than attn_q: more bits cost little.
    if (model.is70B && (t === GgmlType.Q3_K || t === GgmlType.Q4_K)) t = GgmlType.Q5_K;
    if (nExpert === 8) t = GgmlType.Q8_0;
    counters.iAttentionWv++;
    return t;
  }
  if (category === 'attn_k') return nExpert === 8 ? GgmlType.Q8_0 : type;
  if (category === 'ffn_down') {
    const [i, n] = layerOf(counters.iFfnDown);
    let t = type;
    if (mix === 'Q2_K') t = GgmlType.Q3_K;
    else if (mix === 'Q2_K_S') {
      if (i < eighth(n)) t = GgmlType.Q4_K;
    } else if (mix === 'Q3_K_M') {
      t =
        i < Math.trunc(n / 16) ? GgmlType.Q5_K : !falcon || useMoreBits(i, n) ? GgmlType.Q4_K : GgmlType.Q3_K;
    } else if (mix === 'Q3_K_L') t = falcon ? GgmlType.Q4_K : GgmlType.Q5_K;
    else if (mix === 'Q4_K_M') {
      if (falcon)
        t = i < Math.trunc(n / 16) ? GgmlType.Q6_K : useMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
      else if (useMoreBits(i, n)) t = GgmlType.Q6_K;
    } else if (i < eighth(n) && (mix === 'IQ4_NL' || mix === 'IQ4_XS') && !counters.hasImatrix)
      t = GgmlType.Q5_K;
    else if (mix === 'Q5_K_M' && useMoreBits(i, n)) t = GgmlType.Q6_K;
    else if (mix === 'Q4_K_S' && !falcon && i < eighth(n)) t = GgmlType.Q5_K;
    else if ((mix === 'Q4_0' || mix === 'Q5_0') && counters.hasImatrix && i < eighth(n)) {
      // llama.cpp guards the first ffn_down layers of Q4_0/Q5_0, only with an imatrix.
      t = mix === 'Q4_0' ? GgmlType.Q4_1 : GgmlType.Q5_1;
    }
    counters.iFfnDown++;
    return t;
  }
  if (category === 'attn_output') {
    if (falcon) return mix === 'Q3_K_L' ? GgmlType.Q4_K : type;
    if (nExpert === 8) {
      const bumped: QuantMix[] = ['Q2_K', 'Q3_K_S', 'Q3_K_M', 'IQ4_NL', 'Q4_K_S', 'Q4_K_M', 'IQ4_XS'];
      return bumped.includes(mix) ? GgmlType.Q5_K : type;
    }
    if (mix === 'Q2_K') return GgmlType.Q3_K;
    if (mix === 'Q3_K_M') return GgmlType.Q4_K;
    if (mix === 'Q3_K_L') return GgmlType.Q5_K;
    return type;
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
    [GgmlType.IQ4_XS]: GgmlType.IQ4_NL,
    [GgmlType.Q2_K]: GgmlType.Q4_0,
    [GgmlType.Q3_K]: GgmlType.Q4_0,
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
  file: { metadata: GgufMetadataEntry[]; tensors: InputTensor[] },
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
  const outputType =
    options.outputTensorType === undefined ? undefined : tensorTypeFromName(options.outputTensorType);
  const embeddingType =
    options.tokenEmbeddingType === undefined ? undefined : tensorTypeFromName(options.tokenEmbeddingType);

  const ordered = options.keepSplit
    ? [...file.tensors].sort((a, b) => (a.shard ?? 0) - (b.shard ?? 0) || a.offset - b.offset)
    : [...file.tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const pruning = pruneLayers(ordered, options.pruneLayers ?? []);
  const kept = pruning.tensors;
  const categories = kept.map(({ name }) => categoryOf(name));
  const importance = options.importance;
  const counters: Counters = {
    hasImatrix: importance !== undefined,
    outputType,
    nAttentionWv: categories.filter(isAttnVLike).length,
    iAttentionWv: 0,
    iFfnDown: 0,
    iFfnGate: 0,
    iFfnUp: 0,
    tiedEmbeddings: !categories.includes('output'),
  };

  // llama_tensor_get_type: the explicit output and embedding types skip the
  // rules and the fallbacks; then --tensor-type, the mix's rules, and the
  // row-length fallback.
  const tensors = kept.map(({ name, source }, index): PlannedTensor => {
    const split = options.keepSplit ? (source.shard ?? 0) : 0;
    const renamed = { ...source, name };
    if (!allowsQuantization(renamed, options))
      return { name, source, split, targetType: source.type, convert: false };
    const category = categories[index];
    let type: GgmlType = defaultType;
    let fallbackFrom: GgmlType | undefined;
    const override = overrides.find((o) => o.regex.test(name));
    if (embeddingType !== undefined && category === 'token_embd' && !(isPerLayerEmbedding(name) && override))
      type = embeddingType;
    else if (outputType !== undefined && category === 'output') type = outputType;
    else {
      if (override) type = override.type;
      else if (!options.pure) type = ruleType(type, renamed, mix, category, model, counters);
      const fitted = fallbackType(source, type);
      if (fitted !== type) fallbackFrom = type;
      type = fitted;
    }
    const planned: PlannedTensor = { name, source, split, targetType: type, convert: type !== source.type };
    if (fallbackFrom !== undefined) planned.fallbackFrom = fallbackFrom;
    // The importance matrix is keyed by the input's names (remap_imatrix undoes the renumbering).
    if (planned.convert) attachImportance(planned, mix, category, importance);
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
        `Tensor "${planned.source.name}" is already quantized (${BLOCK_FORMATS.get(sourceType)?.name}); requantizing loses quality.`,
        {
          hint: 'Quantize from the F16 or F32 GGUF, or pass --allow-requantize.',
          details: { tensor: planned.source.name },
        },
      );
    }
    const { blockSize, name } = ggmlTypeInfo(planned.targetType);
    if (planned.source.dims[0] % blockSize !== 0) {
      // Only an explicit --output-tensor-type or --token-embedding-type skips the fallbacks.
      throw new QuantizerError(
        'INVALID_INPUT',
        `Tensor "${planned.source.name}" has rows of ${planned.source.dims[0]} weights, which ${name} blocks of ${blockSize} cannot hold.`,
        {
          hint: 'Choose a type whose block size divides the row length.',
          details: { tensor: planned.source.name },
        },
      );
    }
  }

  // llama_model_quantize_impl: the input's keys, then quantization_version and
  // file_type, then the overrides, then the pruned block count, then the split keys.
  const metadata = file.metadata.filter((e) => !SPLIT_KEYS.has(e.key));
  setMetadata(metadata, [
    ggufEntry.uint32('general.quantization_version', QUANTIZATION_VERSION),
    ggufEntry.uint32('general.file_type', fileType),
    ...(options.metadataOverrides ?? []),
  ]);
  if ((options.pruneLayers ?? []).length > 0)
    setMetadata(metadata, [ggufEntry.uint32(`${model.arch}.block_count`, pruning.blockCount)]);
  const splitCount = options.keepSplit ? Math.max(1, ...file.tensors.map((t) => (t.shard ?? 0) + 1)) : 1;
  const plan: QuantizationPlan = { fileType, metadata, tensors, splitCount };
  if (splitCount > 1) setMetadata(metadata, splitKeys(plan, 0));
  return plan;
}

// The keys every shard of a split output carries.
function splitKeys(plan: QuantizationPlan, index: number): GgufMetadataEntry[] {
  return [
    ggufEntry.uint16('split.no', index),
    ggufEntry.uint16('split.count', plan.splitCount),
    ggufEntry.int32('split.tensors.count', plan.tensors.length),
  ];
}

/**
 * The metadata of output file `index`: the plan's for the first, only the
 * split.* keys for the others (llama-quantize starts them from an empty context).
 */
export function splitMetadata(plan: QuantizationPlan, index: number): GgufMetadataEntry[] {
  return index === 0 ? plan.metadata : splitKeys(plan, index);
}

// remap_layer in src/llama-quant.cpp: tensors of pruned blocks are dropped,
// the blocks after the first pruned one are numbered on from it, in the
// order the tensors come.
function pruneLayers(
  tensors: InputTensor[],
  prune: readonly number[],
): { tensors: Array<{ name: string; source: InputTensor }>; blockCount: number } {
  const list = [...new Set(prune)].sort((a, b) => a - b);
  if (list.length === 0)
    return { tensors: tensors.map((source) => ({ name: source.name, source })), blockCount: 0 };
  const mapped = new Map<number, string>();
  let next = 0;
  const kept: Array<{ name: string; source: InputTensor }> = [];
  for (const source of tensors) {
    const match = /blk\.(\d+)\./.exec(source.name);
    if (!match) {
      kept.push({ name: source.name, source });
      continue;
    }
    const block = Number.parseInt(match[1], 10);
    if (!mapped.has(block)) {
      if (list.includes(block)) mapped.set(block, '');
      else if (block < list[0]) {
        mapped.set(block, String(block));
        next = block + 1;
      } else mapped.set(block, String(next++));
    }
    const to = mapped.get(block)!;
    if (to === '') continue;
    const start = match.index + 4;
    kept.push({
      name: source.name.slice(0, start) + to + source.name.slice(start + match[1].length),
      source,
    });
  }
  return { tensors: kept, blockCount: next };
}

const isPerLayerEmbedding = (name: string) => name === 'per_layer_token_embd.weight';

// tensor_requires_imatrix: the types that make garbage without an importance
// matrix, and Q2_K inside a Q2_K_S file; never the embeddings or the output.
function requiresImatrix(type: GgmlType, mix: QuantMix, category: Category): boolean {
  if (category === 'token_embd' || category === 'output') return false;
  return type === GgmlType.Q2_K && mix === 'Q2_K_S';
}

// The importance vector llama_model_quantize_impl finds for a tensor: by
// name, and only when its size is ne[0] times the experts (a mismatch stops
// llama-quantize, except for token_embd, which is quantized without one).
function attachImportance(
  planned: PlannedTensor,
  mix: QuantMix,
  category: Category,
  importance: ReadonlyMap<string, Float32Array> | undefined,
): void {
  const { name, dims } = planned.source;
  const vector = importance?.get(name);
  const expected = dims[0] * (dims[2] ?? 1);
  if (vector && vector.length === expected) planned.importance = vector;
  else if (vector && !isTokenEmbedding(name)) {
    throw new QuantizerError(
      'INVALID_INPUT',
      `The importance matrix has ${vector.length} values for tensor "${name}", which needs ${expected}.`,
      {
        hint: 'The imatrix was computed for another model: compute it again for this one.',
        details: { tensor: name, values: vector.length, expected },
      },
    );
  }
  if (!planned.importance && requiresImatrix(planned.targetType, mix, category)) {
    const type = ggmlTypeInfo(planned.targetType).name;
    throw new QuantizerError(
      'IMATRIX_REQUIRED',
      importance
        ? `The importance matrix has no entry for tensor "${name}", which ${mix} quantizes to ${type}.`
        : `${mix} quantizes tensor "${name}" to ${type}, which needs an importance matrix.`,
      {
        hint: importance
          ? 'Use an imatrix computed for this model, and no --include-weights/--exclude-weights that leave this tensor out.'
          : 'Pass --imatrix FILE (compute one with alki imatrix).',
        details: { tensor: name, type },
      },
    );
  }
}

const isTokenEmbedding = (name: string) =>
  name === 'token_embd.weight' || name === 'per_layer_token_embd.weight';
