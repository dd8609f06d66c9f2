// One unit of work for a worker: decode a run of whole rows to float32,
// check them, and encode them in the target type. Pure and synchronous.
import { GgmlType } from '@alki/gguf-reader';
import { BLOCK_FORMATS, type QuantType } from '../blocks/block-types.js';
import { bf16ToFp32Row, fp16ToFp32Row, fp32ToFp16Row } from '../float/fp16.js';
import { decodeSource, type SourceFloatType } from '../blocks/kernels.js';
import { addErrors, emptyErrorStats, type ErrorStats } from '../report.js';

const FLOAT_SOURCES: Partial<Record<GgmlType, SourceFloatType>> = {
  [GgmlType.F32]: 'F32',
  [GgmlType.F16]: 'F16',
  [GgmlType.BF16]: 'BF16',
};

export interface ChunkJob {
  sourceType: GgmlType;
  targetType: GgmlType;
  /** Whole rows of the source tensor, in a buffer of their own (it is transferred). */
  bytes: Uint8Array;
  /** Weights in `bytes`. */
  count: number;
  /** Weights per row; the chunk holds whole rows. */
  rowLength: number;
  /** The importance vector of these rows (one expert's), when quantizing with an importance matrix. */
  importance?: Float32Array;
  /** Measure the round trip's error (and, with an importance vector, the error without it). */
  report?: boolean;
}

/** The error of a chunk's round trip, and with an importance vector the error the unweighted quantizer makes. */
export interface ChunkStats {
  error: ErrorStats;
  withoutImatrix?: ErrorStats;
}

export type ChunkResult =
  | { ok: true; output: Uint8Array; stats?: ChunkStats }
  | { ok: false; reason: 'non-finite-input'; index: number; value: number }
  | { ok: false; reason: 'overflow'; index: number };

/** Decodes, checks and encodes one chunk; the index of the first NaN or infinity is reported instead of output. */
export function convertChunk(job: ChunkJob): ChunkResult {
  const source = FLOAT_SOURCES[job.sourceType];
  let weights: Float32Array;
  if (source) {
    // Straight into the WebAssembly kernels' memory, checked on the way.
    const decoded = decodeSource(source, job.bytes, job.count, job.rowLength);
    if ('nonFinite' in decoded) {
      const index = decoded.nonFinite;
      const one = decode({
        sourceType: job.sourceType,
        bytes: job.bytes.subarray(index * (source === 'F32' ? 4 : 2)),
        count: 1,
      });
      return { ok: false, reason: 'non-finite-input', index, value: one[0] };
    }
    weights = decoded.weights;
  } else {
    weights = decode(job);
    for (let i = 0; i < weights.length; i++) {
      const v = weights[i];
      if (v - v !== 0) return { ok: false, reason: 'non-finite-input', index: i, value: v };
    }
  }
  const output = encode(weights, job);
  const overflow = firstOverflow(output, job.targetType);
  if (overflow >= 0) return { ok: false, reason: 'overflow', index: overflow };
  return job.report ? { ok: true, output, stats: measure(weights, output, job) } : { ok: true, output };
}

function roundTripErrors(weights: Float32Array, output: Uint8Array, job: ChunkJob): ErrorStats {
  const restored = decode({ ...job, sourceType: job.targetType, bytes: output });
  const stats = emptyErrorStats();
  addErrors(stats, weights, restored, job.rowLength, job.importance);
  return stats;
}

function measure(weights: Float32Array, output: Uint8Array, job: ChunkJob): ChunkStats {
  const error = roundTripErrors(weights, output, job);
  const weighted = job.importance && BLOCK_FORMATS.get(job.targetType as QuantType)?.quantizeWeighted;
  if (!weighted) return { error };
  // The same rows quantized as llama-quantize would without the matrix, measured against the same importance.
  const plain = encode(weights, { ...job, importance: undefined });
  return { error, withoutImatrix: roundTripErrors(weights, plain, job) };
}

const isHalfNonFinite = (bytes: Uint8Array, at: number): boolean => (bytes[at + 1] & 0x7c) === 0x7c;

// llama-quantize checks what it wrote (ggml_validate_row_data) and fails when
// a half-precision value, a block scale or an F16 weight, overflowed. Returns
// the first weight whose block overflowed, or -1.
function firstOverflow(output: Uint8Array, targetType: GgmlType): number {
  if (targetType === GgmlType.F16) {
    for (let i = 0; i < output.length; i += 2) if (isHalfNonFinite(output, i)) return i / 2;
    return -1;
  }
  const format = BLOCK_FORMATS.get(targetType as QuantType);
  if (!format) return -1;
  for (let block = 0, at = 0; at < output.length; block++, at += format.blockBytes) {
    for (const offset of format.halfOffsets)
      if (isHalfNonFinite(output, at + offset)) return block * format.blockWeights;
  }
  return -1;
}

function decode({
  sourceType,
  bytes,
  count,
}: Pick<ChunkJob, 'sourceType' | 'bytes' | 'count'>): Float32Array {
  if (sourceType === GgmlType.F32) {
    return bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, count)
      : new Float32Array(bytes.slice().buffer, 0, count);
  }
  const weights = new Float32Array(count);
  if (sourceType === GgmlType.F16) fp16ToFp32Row(bytes, weights, count);
  else if (sourceType === GgmlType.BF16) bf16ToFp32Row(bytes, weights, count);
  else {
    const format = BLOCK_FORMATS.get(sourceType as QuantType);
    if (!format) throw new Error(`cannot decode ggml type ${sourceType}`);
    format.dequantize(bytes, weights);
  }
  return weights;
}

function encode(
  weights: Float32Array,
  { targetType, rowLength, importance }: Pick<ChunkJob, 'targetType' | 'rowLength' | 'importance'>,
): Uint8Array {
  if (targetType === GgmlType.F32) return new Uint8Array(Float32Array.from(weights).buffer);
  if (targetType === GgmlType.F16) {
    const out = new Uint8Array(weights.length * 2);
    fp32ToFp16Row(weights, out);
    return out;
  }
  const format = BLOCK_FORMATS.get(targetType as QuantType);
  if (!format) throw new Error(`cannot encode ggml type ${targetType}`);
  const out = new Uint8Array((weights.length / format.blockWeights) * format.blockBytes);
  // ggml_quantize_chunk hands the importance only to the types that use it (not Q8_0).
  if (importance && format.quantizeWeighted) format.quantizeWeighted(weights, out, rowLength, importance);
  else format.quantize(weights, out);
  return out;
}
