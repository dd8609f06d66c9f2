// The block formats this package can write and read, keyed by ggml type.
import { GgmlType } from '@alki/gguf-reader';
import { dequantizeRowQ4_0, Q4_0_BLOCK_BYTES, quantizeRowQ4_0 } from './q4_0.js';
import { dequantizeRowQ4_1, Q4_1_BLOCK_BYTES, quantizeRowQ4_1 } from './q4_1.js';
import { dequantizeRowQ4K, Q4_K_BLOCK_BYTES, quantizeRowQ4K } from './q4_k.js';
import { dequantizeRowQ5_0, Q5_0_BLOCK_BYTES, quantizeRowQ5_0 } from './q5_0.js';
import { dequantizeRowQ5_1, Q5_1_BLOCK_BYTES, quantizeRowQ5_1 } from './q5_1.js';
import { dequantizeRowQ5K, Q5_K_BLOCK_BYTES, quantizeRowQ5K } from './q5_k.js';
import { dequantizeRowQ6K, Q6_K_BLOCK_BYTES, quantizeRowQ6K } from './q6_k.js';
import { dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, quantizeRowQ8_0 } from './q8_0.js';

/** A block format: how many weights a block holds, its size, and its row codecs. */
export interface BlockFormat {
  type: QuantType;
  name: string;
  blockWeights: number;
  blockBytes: number;
  /** Quantizes `src` (a multiple of blockWeights) into `dst`. */
  quantize(src: Float32Array, dst: Uint8Array): void;
  /** Expands `dst.length` weights from `src`. */
  dequantize(src: Uint8Array, dst: Float32Array): void;
  /** Byte offsets of the fp16 scale fields inside a block, which overflow to infinity on huge weights. */
  halfOffsets: readonly number[];
}

/** The quantized types Alki writes, in ggml's numbering. */
export type QuantType =
  | GgmlType.Q4_0
  | GgmlType.Q4_1
  | GgmlType.Q5_0
  | GgmlType.Q5_1
  | GgmlType.Q8_0
  | GgmlType.Q4_K
  | GgmlType.Q5_K
  | GgmlType.Q6_K;

export const BLOCK_FORMATS: ReadonlyMap<QuantType, BlockFormat> = new Map<QuantType, BlockFormat>([
  [
    GgmlType.Q4_0,
    format(GgmlType.Q4_0, 'Q4_0', 32, Q4_0_BLOCK_BYTES, quantizeRowQ4_0, dequantizeRowQ4_0, [0]),
  ],
  [
    GgmlType.Q4_1,
    format(GgmlType.Q4_1, 'Q4_1', 32, Q4_1_BLOCK_BYTES, quantizeRowQ4_1, dequantizeRowQ4_1, [0, 2]),
  ],
  [
    GgmlType.Q5_0,
    format(GgmlType.Q5_0, 'Q5_0', 32, Q5_0_BLOCK_BYTES, quantizeRowQ5_0, dequantizeRowQ5_0, [0]),
  ],
  [
    GgmlType.Q5_1,
    format(GgmlType.Q5_1, 'Q5_1', 32, Q5_1_BLOCK_BYTES, quantizeRowQ5_1, dequantizeRowQ5_1, [0, 2]),
  ],
  [
    GgmlType.Q8_0,
    format(GgmlType.Q8_0, 'Q8_0', 32, Q8_0_BLOCK_BYTES, quantizeRowQ8_0, dequantizeRowQ8_0, [0]),
  ],
  [
    GgmlType.Q4_K,
    format(GgmlType.Q4_K, 'Q4_K', 256, Q4_K_BLOCK_BYTES, quantizeRowQ4K, dequantizeRowQ4K, [0, 2]),
  ],
  [
    GgmlType.Q5_K,
    format(GgmlType.Q5_K, 'Q5_K', 256, Q5_K_BLOCK_BYTES, quantizeRowQ5K, dequantizeRowQ5K, [0, 2]),
  ],
  [
    GgmlType.Q6_K,
    format(GgmlType.Q6_K, 'Q6_K', 256, Q6_K_BLOCK_BYTES, quantizeRowQ6K, dequantizeRowQ6K, [208]),
  ],
]);

function format(
  type: QuantType,
  name: string,
  blockWeights: number,
  blockBytes: number,
  quantize: BlockFormat['quantize'],
  dequantize: BlockFormat['dequantize'],
  halfOffsets: readonly number[],
): BlockFormat {
  return { type, name, blockWeights, blockBytes, quantize, dequantize, halfOffsets };
}

/** True when `type` is one of the quantized types Alki writes. */
export function isQuantType(type: GgmlType): type is QuantType {
  return BLOCK_FORMATS.has(type as QuantType);
}
