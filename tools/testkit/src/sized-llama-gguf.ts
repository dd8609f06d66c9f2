// F32 llama GGUFs of chosen sizes (quantizer tests and benchmarks). The
// tokenizer is the tiny llama's, so the files load and generate in llama.cpp;
// the weights are seeded, with optional edge cases. For F16 input, convert
// the result with `llama-quantize in out F16`.
import {
  createGgufWriter,
  fileSource,
  ggufEntry,
  GgmlType,
  readGguf,
  type GgufMetadataEntry,
  type GgufTensorSpec,
} from '@alki/gguf-reader';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureCacheDir } from './cache.js';
import { cachedTinyLlamaGguf } from './tiny-gguf.js';

export interface SizedLlamaOptions {
  embedding: number;
  feedForward: number;
  layers: number;
  heads?: number;
  headsKv?: number;
  /** Write output.weight (untied) or not (tied embeddings). Default true. */
  output?: boolean;
  seed?: number;
  /** Fill weights with edge cases (zeros, constant rows, huge and tiny magnitudes, outliers); `huge` is the big rows' scale. */
  edgeCases?: { huge: number };
  /** Puts this value at weight 5 of the named tensor. */
  poison?: { tensor: string; value: number };
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

// Edge cases by row, so each block type sees whole blocks of each kind.
function edgeCaseRow(row: number, values: Float32Array, random: () => number, huge: number): void {
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const kind = row % 7;
  for (let i = 0; i < values.length; i++) {
    if (kind === 0) values[i] = 0;
    else if (kind === 1) values[i] = 0.25;
    else if (kind === 2) values[i] = gauss() * huge;
    else if (kind === 3) values[i] = gauss() * 1e-6;
    else if (kind === 4) values[i] = i % 32 === 7 ? gauss() * 50 : gauss() * 0.01;
    else if (kind === 5) values[i] = Math.abs(gauss()) * 0.05;
    else values[i] = gauss() * 0.05;
  }
}

/**
 * Writes an F32 llama GGUF with the given sizes and the tiny llama's tokenizer.
 *
 * @example
 * await writeSizedLlamaGguf('model.gguf', { embedding: 256, feedForward: 512, layers: 8 });
 */
export async function writeSizedLlamaGguf(file: string, options: SizedLlamaOptions): Promise<void> {
  const tiny = await cachedTinyLlamaGguf();
  const source = await fileSource(tiny.path);
  let tokenizer: GgufMetadataEntry[];
  try {
    tokenizer = (await readGguf(source)).metadata.filter((e) => e.key.startsWith('tokenizer.'));
  } finally {
    await source.close?.();
  }
  const vocab = tiny.tokens.length;
  const { embedding: n, feedForward: ff, layers } = options;
  const heads = options.heads ?? 4;
  const headsKv = options.headsKv ?? heads;
  const kv = (n / heads) * headsKv;
  const w = (name: string, dims: number[]): GgufTensorSpec => ({ name, type: GgmlType.F32, dims });
  const norm = (name: string): GgufTensorSpec => ({ name, type: GgmlType.F32, dims: [n] });
  const tensors: GgufTensorSpec[] = [w('token_embd.weight', [n, vocab])];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      norm(`blk.${l}.attn_norm.weight`),
      w(`blk.${l}.attn_q.weight`, [n, n]),
      w(`blk.${l}.attn_k.weight`, [n, kv]),
      w(`blk.${l}.attn_v.weight`, [n, kv]),
      w(`blk.${l}.attn_output.weight`, [n, n]),
      norm(`blk.${l}.ffn_norm.weight`),
      w(`blk.${l}.ffn_gate.weight`, [n, ff]),
      w(`blk.${l}.ffn_up.weight`, [n, ff]),
      w(`blk.${l}.ffn_down.weight`, [ff, n]),
    );
  }
  tensors.push(norm('output_norm.weight'));
  if (options.output ?? true) tensors.push(w('output.weight', [n, vocab]));

  const metadata = [
    ggufEntry.string('general.architecture', 'llama'),
    ggufEntry.string('general.name', 'alki-quantizer-fixture'),
    // LLAMA_FTYPE_ALL_F32 (include/llama.h).
    ggufEntry.uint32('general.file_type', 0),
    ggufEntry.uint32('llama.context_length', 128),
    ggufEntry.uint32('llama.embedding_length', n),
    ggufEntry.uint32('llama.block_count', layers),
    ggufEntry.uint32('llama.feed_forward_length', ff),
    ggufEntry.uint32('llama.attention.head_count', heads),
    ggufEntry.uint32('llama.attention.head_count_kv', headsKv),
    ggufEntry.float32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    ggufEntry.uint32('llama.rope.dimension_count', n / heads),
    ggufEntry.uint32('llama.vocab_size', vocab),
    ...tokenizer,
  ];
  const random = seeded(options.seed ?? 1);
  const writer = await createGgufWriter(file, { metadata, tensors });
  try {
    for (const tensor of tensors) {
      const rowLength = tensor.dims[0];
      const rows = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
      const values = new Float32Array(rowLength * rows);
      for (let r = 0; r < rows; r++) {
        const row = values.subarray(r * rowLength, (r + 1) * rowLength);
        if (tensor.dims.length === 1) row.fill(1);
        else if (options.edgeCases) edgeCaseRow(r, row, random, options.edgeCases.huge);
        else for (let i = 0; i < rowLength; i++) row[i] = (random() - 0.5) * 0.2;
      }
      if (options.poison?.tensor === tensor.name) values[5] = options.poison.value;
      await writer.writeTensorData(new Uint8Array(values.buffer));
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * The sized llama GGUF for these options, written once into the fixture cache
 * (`~/.cache/alki/test-fixtures/sized-gguf`) and reused afterwards.
 *
 * @example
 * const file = await cachedSizedLlamaGguf({ embedding: 256, feedForward: 512, layers: 2 });
 */
export async function cachedSizedLlamaGguf(options: SizedLlamaOptions): Promise<string> {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify(options))
    .update(fs.readFileSync(new URL(import.meta.url)))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(fixtureCacheDir('sized-gguf'), `sized-llama-${key}.gguf`);
  if (fs.existsSync(file)) return file;
  // Written beside and renamed, so a test killed midway leaves no half file in the cache.
  const partial = `${file}.${process.pid}.partial`;
  await writeSizedLlamaGguf(partial, options);
  fs.renameSync(partial, file);
  return file;
}
