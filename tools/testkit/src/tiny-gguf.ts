import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  createGgufWriter,
  ggufEntry,
  GgmlType,
  GgufValueType,
  type GgufMetadataEntry,
  type GgufTensorSpec,
} from '@alki/gguf-reader';
import { fixtureCacheDir } from './cache.js';
import { seededRandom } from './fixtures/random.js';

export interface TinyLlamaOptions {
  /** Seed of the random weights; the same seed gives the same bytes. Default 1. */
  seed?: number;
  /** llama.context_length. Default 256. */
  contextLength?: number;
  /**
   * llama.feed_forward_length. Default 128. Use 256 (a multiple of QK_K) to
   * make ffn_down rows eligible for K-quants when quantizing with llama-quantize.
   */
  feedForwardLength?: number;
  /** KV heads (4 = multi-head attention, 2 or 1 = grouped-query). Default 4. */
  headCountKv?: 1 | 2 | 4;
  /** general.name. Default 'alki-tiny-llama'. */
  name?: string;
  /** tokenizer.chat_template; false leaves it out. Default: a ChatML template. */
  chatTemplate?: string | false;
  /** Extra metadata appended after the standard keys (general.license, ...). */
  extraMetadata?: GgufMetadataEntry[];
}

/** What was written. */
export interface TinyLlamaGguf {
  path: string;
  /** The vocabulary, index = token id. */
  tokens: string[];
  bosTokenId: number;
  eosTokenId: number;
  /** Tensor names, types and shapes in file order. */
  tensors: GgufTensorSpec[];
}

const EMBEDDING = 64;
const HEADS = 4;
const FEED_FORWARD = 128;
const LAYERS = 2;
const HEAD_DIM = EMBEDDING / HEADS;

export const TINY_CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Byte-level BPE (tokenizer.ggml.model = gpt2) writes a space as 'Ġ' (U+0120)
// and a newline as 'Ċ' (U+010A); every other token is printable ASCII. So
// every token decodes to ASCII bytes, and any generated text is valid UTF-8
// (llama-server answers 500 to invalid UTF-8, which random weights over a
// full byte vocabulary do produce).
const SPACE = '\u0120';
const NEWLINE = '\u010a';
const MERGES: Array<[string, string]> = [
  [SPACE, 't'],
  ['h', 'e'],
  ['i', 'n'],
  ['e', 'r'],
  ['a', 'n'],
  [SPACE, 'a'],
  ['o', 'n'],
  ['r', 'e'],
  ['a', 't'],
  ['e', 'n'],
  [SPACE + 't', 'he'],
  ['e', 'd'],
  ['n', 'd'],
  ['o', 'u'],
  ['i', 's'],
  ['o', 'r'],
  ['i', 't'],
  ['e', 's'],
  [SPACE, 's'],
  [SPACE, 'w'],
  ['in', 'g'],
  [SPACE, 'o'],
  ['a', 'r'],
  ['l', 'l'],
  [SPACE, 'i'],
  [SPACE, 'b'],
  [SPACE, 'c'],
  [SPACE, 'f'],
  ['t', 'h'],
  ['th', 'e'],
];
const CONTROL_TOKENS = ['<s>', '</s>', '<|im_start|>', '<|im_end|>'];
// tokenizer.ggml.token_type values (llama_token_type in llama.cpp's llama-vocab.h).
export const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;

/** The vocabulary: control tokens (`<s>` 0, `</s>` 1, `<|im_start|>` 2, `<|im_end|>` 3), single characters, then one token per merge. */
export function tinyVocabulary(): { tokens: string[]; types: number[]; merges: string[] } {
  const tokens = [...CONTROL_TOKENS];
  for (let code = 0x21; code <= 0x7e; code++) tokens.push(String.fromCharCode(code));
  tokens.push(SPACE, NEWLINE);
  for (const [left, right] of MERGES) tokens.push(left + right);
  const types = tokens.map((_, i) => (i < CONTROL_TOKENS.length ? TOKEN_CONTROL : TOKEN_NORMAL));
  return { tokens, types, merges: MERGES.map(([left, right]) => `${left} ${right}`) };
}

function tinyTensors(vocabSize: number, kvDim: number, feedForward: number): GgufTensorSpec[] {
  const f32 = (name: string, dims: number[]): GgufTensorSpec => ({ name, type: GgmlType.F32, dims });
  const tensors = [f32('token_embd.weight', [EMBEDDING, vocabSize])];
  for (let layer = 0; layer < LAYERS; layer++) {
    const blk = `blk.${layer}`;
    tensors.push(
      f32(`${blk}.attn_norm.weight`, [EMBEDDING]),
      f32(`${blk}.attn_q.weight`, [EMBEDDING, EMBEDDING]),
      f32(`${blk}.attn_k.weight`, [EMBEDDING, kvDim]),
      f32(`${blk}.attn_v.weight`, [EMBEDDING, kvDim]),
      f32(`${blk}.attn_output.weight`, [EMBEDDING, EMBEDDING]),
      f32(`${blk}.ffn_norm.weight`, [EMBEDDING]),
      f32(`${blk}.ffn_gate.weight`, [EMBEDDING, feedForward]),
      f32(`${blk}.ffn_down.weight`, [feedForward, EMBEDDING]),
      f32(`${blk}.ffn_up.weight`, [EMBEDDING, feedForward]),
    );
  }
  tensors.push(f32('output_norm.weight', [EMBEDDING]), f32('output.weight', [EMBEDDING, vocabSize]));
  return tensors;
}

function describeTinyLlama(options: TinyLlamaOptions): Omit<TinyLlamaGguf, 'path'> {
  const { tokens } = tinyVocabulary();
  const kvDim = HEAD_DIM * (options.headCountKv ?? HEADS);
  return {
    tokens,
    bosTokenId: 0,
    eosTokenId: 1,
    tensors: tinyTensors(tokens.length, kvDim, options.feedForwardLength ?? FEED_FORWARD),
  };
}

/**
 * Writes a tiny random-weight llama GGUF (F32, 2 layers, hidden 64, 4 heads,
 * feed-forward 128, a ~130-token byte-level BPE vocabulary with merges) that
 * llama.cpp and node-llama-cpp load and generate from. About 400 KB (100k parameters).
 *
 * @example
 * const model = await writeTinyLlamaGguf(path.join(dir, 'tiny.gguf'), { seed: 7 });
 */
export async function writeTinyLlamaGguf(
  file: string,
  options: TinyLlamaOptions = {},
): Promise<TinyLlamaGguf> {
  const { tokens, types, merges } = tinyVocabulary();
  const { bosTokenId, eosTokenId, tensors } = describeTinyLlama(options);
  const headCountKv = options.headCountKv ?? HEADS;
  const chatTemplate = options.chatTemplate ?? TINY_CHATML_TEMPLATE;
  const metadata: GgufMetadataEntry[] = [
    ggufEntry.string('general.architecture', 'llama'),
    ggufEntry.string('general.name', options.name ?? 'alki-tiny-llama'),
    // LLAMA_FTYPE_ALL_F32 (llama.h): every weight is F32.
    ggufEntry.uint32('general.file_type', 0),
    ggufEntry.uint32('llama.context_length', options.contextLength ?? 256),
    ggufEntry.uint32('llama.embedding_length', EMBEDDING),
    ggufEntry.uint32('llama.block_count', LAYERS),
    ggufEntry.uint32('llama.feed_forward_length', options.feedForwardLength ?? FEED_FORWARD),
    ggufEntry.uint32('llama.attention.head_count', HEADS),
    ggufEntry.uint32('llama.attention.head_count_kv', headCountKv),
    ggufEntry.float32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    ggufEntry.float32('llama.rope.freq_base', 10000),
    ggufEntry.uint32('llama.rope.dimension_count', HEAD_DIM),
    ggufEntry.uint32('llama.vocab_size', tokens.length),
    ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
    ggufEntry.string('tokenizer.ggml.pre', 'default'),
    ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
    ggufEntry.array('tokenizer.ggml.token_type', GgufValueType.INT32, types),
    ggufEntry.array('tokenizer.ggml.merges', GgufValueType.STRING, merges),
    ggufEntry.uint32('tokenizer.ggml.bos_token_id', bosTokenId),
    ggufEntry.uint32('tokenizer.ggml.eos_token_id', eosTokenId),
    ggufEntry.bool('tokenizer.ggml.add_bos_token', true),
    ...(chatTemplate === false ? [] : [ggufEntry.string('tokenizer.chat_template', chatTemplate)]),
    ...(options.extraMetadata ?? []),
  ];
  const random = seededRandom(options.seed ?? 1);
  const writer = await createGgufWriter(file, { metadata, tensors });
  try {
    for (const tensor of tensors) {
      const values = new Float32Array(tensor.dims.reduce((a, b) => a * b, 1));
      // Norm weights of 1 keep activations sane; other weights are small and
      // centred, like an initialised network (std about 0.06).
      const isNorm = tensor.dims.length === 1;
      for (let i = 0; i < values.length; i++) values[i] = isNorm ? 1 : (random() - 0.5) * 0.2;
      await writer.writeTensorData(new Uint8Array(values.buffer));
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { path: file, tokens, bosTokenId, eosTokenId, tensors };
}

/**
 * The tiny llama GGUF for these options, written once into the fixture cache
 * (`~/.cache/alki/test-fixtures/tiny-gguf`) and reused afterwards.
 *
 * @example
 * const { path: modelPath } = await cachedTinyLlamaGguf();
 */
export async function cachedTinyLlamaGguf(options: TinyLlamaOptions = {}): Promise<TinyLlamaGguf> {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .update(fs.readFileSync(new URL(import.meta.url)))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(fixtureCacheDir('tiny-gguf'), `tiny-llama-${key}.gguf`);
  if (fs.existsSync(file)) return { path: file, ...describeTinyLlama(options) };
  return writeTinyLlamaGguf(file, options);
}
