// From an importance matrix to the per-tensor vectors llama-quantize weighs
// rows by, and the metadata it records (tools/quantize/quantize.cpp
// load_imatrix and prepare_imatrix). Pure.
import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import type { Imatrix } from './imatrix.js';

export interface ImportanceOptions {
  /** Use the matrix only for tensors whose name contains one of these (llama-quantize --include-weights). */
  includeWeights?: readonly string[];
  /** Do not use it for tensors whose name contains one of these (llama-quantize --exclude-weights). */
  excludeWeights?: readonly string[];
}

/**
 * The importance vector of each tensor: GGUF sums divided by each expert's
 * count (1 where an expert saw no tokens), legacy sums divided by the call
 * count; then --exclude-weights and --include-weights by substring.
 *
 * @example
 * const vectors = importanceVectors(imatrix, { excludeWeights: ['ffn_down'] });
 * vectors.get('blk.0.attn_q.weight')?.length; // the hidden size
 */
export function importanceVectors(
  imatrix: Imatrix,
  options: ImportanceOptions = {},
): Map<string, Float32Array> {
  const fround = Math.fround;
  const exclude = options.excludeWeights ?? [];
  const include = options.includeWeights ?? [];
  const vectors = new Map<string, Float32Array>();
  for (const [name, { sums, counts }] of imatrix.entries) {
    if (exclude.some((part) => name.includes(part))) continue;
    if (include.length > 0 && !include.some((part) => name.includes(part))) continue;
    if (imatrix.format === 'gguf') {
      const perExpert = sums.length / counts.length;
      vectors.set(
        name,
        sums.map((sum, i) => {
          const count = fround(counts[Math.trunc(i / perExpert)]);
          return count > 0 ? fround(sum / count) : 1;
        }),
      );
    } else {
      const calls = counts[0];
      vectors.set(name, calls > 0 ? sums.map((sum) => fround(sum / fround(calls))) : sums.slice());
    }
  }
  return vectors;
}

/** llama-quantize copies at most 127 bytes of a string into a key (llama_model_kv_override.val_str). */
function truncated(text: string): string {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= 127) return text;
  bytes = bytes.subarray(0, 127);
  // Cut at a character boundary so the value stays valid UTF-8.
  while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes = bytes.subarray(0, -1);
  if (bytes.length > 0 && bytes[bytes.length - 1] >= 0xc0) bytes = bytes.subarray(0, -1);
  return bytes.toString('utf8');
}

/**
 * The keys llama-quantize adds when it quantizes with an importance matrix:
 * the file name as given, the first dataset, the entries used and the chunk count.
 *
 * @example
 * imatrixMetadata('model.imatrix', imatrix, vectors.size).map((e) => e.key);
 */
export function imatrixMetadata(file: string, imatrix: Imatrix, entriesUsed: number): GgufMetadataEntry[] {
  const entries = [ggufEntry.string('quantize.imatrix.file', truncated(file))];
  if (imatrix.datasets.length > 0)
    entries.push(ggufEntry.string('quantize.imatrix.dataset', truncated(imatrix.datasets[0])));
  entries.push(ggufEntry.uint32('quantize.imatrix.entries_count', entriesUsed));
  if (imatrix.chunkCount > 0)
    entries.push(ggufEntry.uint32('quantize.imatrix.chunks_count', imatrix.chunkCount));
  return entries;
}
