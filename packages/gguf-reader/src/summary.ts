import { ggmlTypeInfo } from './ggml-types.js';
import { llamaFileTypeName } from './file-types.js';
import type { GgufModel } from './split.js';
import { GgufValueType, type GgufFile, type GgufValue } from './types.js';

/** Tensors of one ggml type. */
export interface TensorTypeShare {
  type: string;
  tensors: number;
  parameters: number;
  bytes: number;
}

/** Memory to run the model: weights plus the KV cache at `contextSize`. */
export interface MemoryEstimate {
  contextSize: number;
  weightsBytes: number;
  /** F16 K and V for every layer and position (llama.cpp's default cache type). */
  kvCacheBytes: number;
  totalBytes: number;
}

/** What a person wants to know about a GGUF before running it. */
export interface GgufSummary {
  architecture?: string;
  name?: string;
  /** Sum of every tensor's element count. */
  parameterCount: number;
  /** `general.file_type` as llama.cpp names it (`MOSTLY_Q4_K_M`), with its id. */
  fileType?: { id: number; name?: string };
  /** The mix of tensor types, most bytes first. */
  tensorTypes: TensorTypeShare[];
  tensorCount: number;
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  feedForwardLength?: number;
  headCount?: number;
  headCountKv?: number;
  vocabSize?: number;
  /** `tokenizer.ggml.model`: gpt2 (byte-level BPE), llama (SentencePiece), ... */
  tokenizerModel?: string;
  hasChatTemplate: boolean;
  license?: string;
  /** Every other scalar `general.*` field (author, version, url, quantized_by, ...). */
  general: Record<string, string | number | boolean>;
  version: 2 | 3;
  /** Bytes on disk, all shards together. */
  fileSize: number;
  shards: number;
  memory: MemoryEstimate;
}

export interface SummaryOptions {
  /** Context size for the memory estimate; default the model's context length (llama.cpp's n_ctx = 0 default). */
  contextSize?: number;
}

/**
 * Summarises a model's header: architecture, size, shape, tokenizer, license
 * and the memory it needs at a context size. Pure: works on what
 * `openGgufModel` or `readGguf` returned.
 *
 * @example
 * const summary = summarizeGguf(await openGgufModel('model.gguf'), { contextSize: 4096 });
 * console.log(summary.architecture, summary.parameterCount, summary.memory.totalBytes);
 */
export function summarizeGguf(model: GgufModel | GgufFile, options: SummaryOptions = {}): GgufSummary {
  const shards = 'shards' in model ? model.shards.map((s) => s.file) : [model];
  const first = shards[0];
  const tensors = shards.flatMap((file) => file.tensors);
  // One pass over the metadata; every lookup below is then O(1).
  const metadata = new Map(first.metadata.map((entry) => [entry.key, entry.value]));
  const architecture = text(metadata.get('general.architecture'));
  const arch = (suffix: string) =>
    architecture === undefined ? undefined : metadata.get(`${architecture}.${suffix}`);

  const shares = new Map<string, TensorTypeShare>();
  let parameterCount = 0;
  let weightsBytes = 0;
  for (const tensor of tensors) {
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    const type = ggmlTypeInfo(tensor.type).name;
    const share = shares.get(type) ?? { type, tensors: 0, parameters: 0, bytes: 0 };
    share.tensors++;
    share.parameters += elements;
    share.bytes += tensor.byteSize;
    shares.set(type, share);
    parameterCount += elements;
    weightsBytes += tensor.byteSize;
  }

  const fileTypeId = count(metadata.get('general.file_type'));
  const headCount = perLayerMax(arch('attention.head_count'));
  // llama.cpp defaults head_count_kv to head_count (llama-model.cpp load_hparams).
  const headCountKv = perLayerMax(arch('attention.head_count_kv')) ?? headCount;
  const contextLength = count(arch('context_length'));
  const tokens = metadata.get('tokenizer.ggml.tokens');
  const contextSize = options.contextSize ?? contextLength ?? 0;
  const kvCacheBytes = architecture === undefined ? 0 : kvCacheSize(arch, contextSize);

  const general: Record<string, string | number | boolean> = {};
  const shown = new Set([
    'general.architecture',
    'general.name',
    'general.file_type',
    'general.license',
    'general.alignment',
  ]);
  for (const entry of first.metadata) {
    if (!entry.key.startsWith('general.') || shown.has(entry.key) || entry.type === GgufValueType.ARRAY)
      continue;
    const value = entry.value;
    general[entry.key.slice('general.'.length)] =
      typeof value === 'bigint' ? Number(value) : (value as string | number | boolean);
  }

  return {
    ...(architecture !== undefined ? { architecture } : {}),
    ...optional('name', text(metadata.get('general.name'))),
    parameterCount,
    ...(fileTypeId !== undefined
      ? { fileType: { id: fileTypeId, ...optional('name', llamaFileTypeName(fileTypeId)) } }
      : {}),
    tensorTypes: [...shares.values()].sort((a, b) => b.bytes - a.bytes),
    tensorCount: tensors.length,
    ...optional('contextLength', contextLength),
    ...optional('embeddingLength', count(arch('embedding_length'))),
    ...optional('blockCount', count(arch('block_count'))),
    ...optional('feedForwardLength', perLayerMax(arch('feed_forward_length'))),
    ...optional('headCount', headCount),
    ...optional('headCountKv', headCountKv),
    ...optional('vocabSize', isArray(tokens) ? tokens.items.length : count(arch('vocab_size'))),
    ...optional('tokenizerModel', text(metadata.get('tokenizer.ggml.model'))),
    hasChatTemplate: typeof metadata.get('tokenizer.chat_template') === 'string',
    ...optional('license', text(metadata.get('general.license'))),
    general,
    version: first.version,
    fileSize: shards.reduce((sum, file) => sum + (file.fileSize ?? 0), 0),
    shards: shards.length,
    memory: { contextSize, weightsBytes, kvCacheBytes, totalBytes: weightsBytes + kvCacheBytes },
  };
}

/**
 * Bytes of an F16 KV cache: for every layer, contextSize positions of K
 * (key_length x head_count_kv) and V (value_length x head_count_kv), 2 bytes
 * each. Follows llama_kv_cache's allocation (src/llama-kv-cache.cpp) and the
 * head-size defaults of llama_hparams (n_embd / n_head). Sliding-window and
 * recurrent layers are counted as full attention, so this is an upper bound.
 *
 * block_count comes from the file, so it never sets a loop bound: layers
 * past the per-layer arrays all look alike and are counted by one product.
 */
function kvCacheSize(arch: (suffix: string) => GgufValue | undefined, contextSize: number): number {
  if (contextSize <= 0) return 0;
  const layers = count(arch('block_count')) ?? 0;
  const embedding = count(arch('embedding_length')) ?? 0;
  const keyLength = count(arch('attention.key_length'));
  const valueLength = count(arch('attention.value_length'));
  const heads = perLayer(arch('attention.head_count'));
  const kvHeads = perLayer(arch('attention.head_count_kv'));
  const layerElements = (layer: number): number => {
    const headCount = heads.at(layer) ?? 0;
    if (!headCount) return 0;
    const kvHeadCount = kvHeads.at(layer) ?? headCount;
    return ((keyLength ?? embedding / headCount) + (valueLength ?? embedding / headCount)) * kvHeadCount;
  };
  const listed = Math.min(layers, Math.max(heads.listed, kvHeads.listed));
  let elements = 0;
  for (let layer = 0; layer < listed; layer++) elements += layerElements(layer);
  elements += (layers - listed) * layerElements(listed);
  return elements * contextSize * 2;
}

function text(value: GgufValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * A count from the header: a non-negative integer that a JS number holds
 * exactly, else undefined. Hostile values (negative, fractional, NaN, 2^64 - 1)
 * are shown by `alki inspect --metadata`, but never feed arithmetic here.
 */
function count(value: GgufValue | undefined): number | undefined {
  const number = typeof value === 'bigint' ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

function isArray(value: GgufValue | undefined): value is { itemType: GgufValueType; items: GgufValue[] } {
  return typeof value === 'object' && value !== null;
}

/**
 * Some architectures store a per-layer array (head counts, feed-forward
 * sizes), others one number for every layer. `at(layer)` answers both without
 * building an array as long as block_count; `listed` is how many layers the
 * array names (0 for a single number).
 */
function perLayer(value: GgufValue | undefined): { at(layer: number): number | undefined; listed: number } {
  if (isArray(value)) return { at: (layer) => count(value.items[layer]), listed: value.items.length };
  const single = count(value);
  return { at: () => single, listed: 0 };
}

// A loop, not Math.max(...items): spreading a long array overflows the stack.
function perLayerMax(value: GgufValue | undefined): number | undefined {
  if (!isArray(value)) return count(value);
  let max: number | undefined;
  for (const item of value.items) {
    const n = count(item);
    if (n !== undefined && (max === undefined || n > max)) max = n;
  }
  return max;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
