// The block formats this package can write and read, keyed by ggml type.
import { GgmlType } from '@alki/gguf-reader';
import {
  dequantizeRowIQ4NL,
  dequantizeRowIQ4XS,
  IQ4_NL_BLOCK_BYTES,
  IQ4_XS_BLOCK_BYTES,
  quantizeRowIQ4NL,
  quantizeRowIQ4NLWeighted,
  quantizeRowIQ4XS,
  quantizeRowIQ4XSWeighted,
} from './iq4_nl.js';
import { dequantizeRowQ2K, Q2_K_BLOCK_BYTES, quantizeRowQ2K, quantizeRowQ2KWeighted } from './q2_k.js';
import { dequantizeRowQ3K, Q3_K_BLOCK_BYTES, quantizeRowQ3K, quantizeRowQ3KWeighted } from './q3_k.js';
import { dequantizeRowQ4_0, Q4_0_BLOCK_BYTES, quantizeRowQ4_0, quantizeRowQ4_0Weighted } from './q4_0.js';
import { dequantizeRowQ4_1, Q4_1_BLOCK_BYTES, quantizeRowQ4_1, quantizeRowQ4_1Weighted } from './q4_1.js';
import { dequantizeRowQ4K, Q4_K_BLOCK_BYTES, quantizeRowQ4K, quantizeRowQ4KWeighted } from './q4_k.js';
import { dequantizeRowQ5_0, Q5_0_BLOCK_BYTES, quantizeRowQ5_0, quantizeRowQ5_0Weighted } from './q5_0.js';
import { dequantizeRowQ5_1, Q5_1_BLOCK_BYTES, quantizeRowQ5_1, quantizeRowQ5_1Weighted } from './q5_1.js';
import { dequantizeRowQ5K, Q5_K_BLOCK_BYTES, quantizeRowQ5K, quantizeRowQ5KWeighted } from './q5_k.js';
import { dequantizeRowQ6K, Q6_K_BLOCK_BYTES, quantizeRowQ6K, quantizeRowQ6KWeighted } from './q6_k.js';
import { dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, quantizeRowQ8_0 } from './q8_0.js';

/** A block format: how many weights a block holds, its size, and its row codecs. */
export interface BlockFormat {
  type: QuantType;
  name: string;
  blockWeights: number;
  blockBytes: number;
  /** Quantizes `src` (a multiple of blockWeights) into `dst`, as llama-quantize does without an importance matrix. */
  quantize(src: Float32Array, dst: Uint8Array): void;
  /**
   * Quantizes whole rows of `rowLength` weights with an importance vector of
   * `rowLength` values (llama-quantize --imatrix); absent for types that ignore it (Q8_0).
   */
  quantizeWeighted?: (
    src: Float32Array,
    dst: Uint8Array,
    rowLength: number,
    importance: Float32Array,
  ) => void;
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
  | GgmlType.Q2_K
  | GgmlType.Q3_K
  | GgmlType.Q4_K
  | GgmlType.Q5_K
  | GgmlType.Q6_K
  | GgmlType.IQ4_NL
  | GgmlType.IQ4_XS;

const FORMATS: BlockFormat[] = [
  {
    type: GgmlType.Q4_0,
    name: 'Q4_0',
    blockWeights: 32,
    blockBytes: Q4_0_BLOCK_BYTES,
    quantize: quantizeRowQ4_0,
    quantizeWeighted: quantizeRowQ4_0Weighted,
    dequantize: dequantizeRowQ4_0,
    halfOffsets: [0],
  },
  {
    type: GgmlType.Q4_1,
    name: 'Q4_1',
    blockWeights: 32,
    blockBytes: Q4_1_BLOCK_BYTES,
    quantize: quantizeRowQ4_1,
    quantizeWeighted: quantizeRowQ4_1Weighted,
    dequantize: dequantizeRowQ4_1,
    halfOffsets: [0, 2],
  },
  {
    type: GgmlType.Q5_0,
    name: 'Q5_0',
    blockWeights: 32,
    blockBytes: Q5_0_BLOCK_BYTES,
    quantize: quantizeRowQ5_0,
    quantizeWeighted: quantizeRowQ5_0Weighted,
    dequantize: dequantizeRowQ5_0,
    halfOffsets: [0],
  },
  {
    type: GgmlType.Q5_1,
    name: 'Q5_1',
    blockWeights: 32,
    blockBytes: Q5_1_BLOCK_BYTES,
    quantize: quantizeRowQ5_1,
    quantizeWeighted: quantizeRowQ5_1Weighted,
    dequantize: dequantizeRowQ5_1,
    halfOffsets: [0, 2],
  },
  {
    type: GgmlType.Q8_0,
    name: 'Q8_0',
    blockWeights: 32,
    blockBytes: Q8_0_BLOCK_BYTES,
    quantize: quantizeRowQ8_0,
    dequantize: dequantizeRowQ8_0,
    halfOffsets: [0],
  },
  {
    type: GgmlType.Q2_K,
    name: 'Q2_K',
    blockWeights: 256,
    blockBytes: Q2_K_BLOCK_BYTES,
    quantize: quantizeRowQ2K,
    quantizeWeighted: quantizeRowQ2KWeighted,
    dequantize: dequantizeRowQ2K,
    halfOffsets: [80, 82],
  },
  {
    type: GgmlType.Q3_K,
    name: 'Q3_K',
    blockWeights: 256,
    blockBytes: Q3_K_BLOCK_BYTES,
    quantize: quantizeRowQ3K,
    quantizeWeighted: quantizeRowQ3KWeighted,
    dequantize: dequantizeRowQ3K,
    halfOffsets: [108],
  },
  {
    type: GgmlType.Q4_K,
    name: 'Q4_K',
    blockWeights: 256,
    blockBytes: Q4_K_BLOCK_BYTES,
    quantize: quantizeRowQ4K,
    quantizeWeighted: quantizeRowQ4KWeighted,
    dequantize: dequantizeRowQ4K,
    halfOffsets: [0, 2],
  },
  {
    type: GgmlType.Q5_K,
    name: 'Q5_K',
    blockWeights: 256,
    blockBytes: Q5_K_BLOCK_BYTES,
    quantize: quantizeRowQ5K,
    quantizeWeighted: quantizeRowQ5KWeighted,
    dequantize: dequantizeRowQ5K,
    halfOffsets: [0, 2],
  },
  {
    type: GgmlType.Q6_K,
    name: 'Q6_K',
    blockWeights: 256,
    blockBytes: Q6_K_BLOCK_BYTES,
    quantize: quantizeRowQ6K,
    quantizeWeighted: quantizeRowQ6KWeighted,
    dequantize: dequantizeRowQ6K,
    halfOffsets: [208],
  },
  {
    type: GgmlType.IQ4_NL,
    name: 'IQ4_NL',
    blockWeights: 32,
    blockBytes: IQ4_NL_BLOCK_BYTES,
    quantize: quantizeRowIQ4NL,
    quantizeWeighted: quantizeRowIQ4NLWeighted,
    dequantize: dequantizeRowIQ4NL,
    halfOffsets: [0],
  },
  {
    type: GgmlType.IQ4_XS,
    name: 'IQ4_XS',
    blockWeights: 256,
    blockBytes: IQ4_XS_BLOCK_BYTES,
    quantize: quantizeRowIQ4XS,
    quantizeWeighted: quantizeRowIQ4XSWeighted,
    dequantize: dequantizeRowIQ4XS,
    halfOffsets: [0],
  },
];

export const BLOCK_FORMATS: ReadonlyMap<QuantType, BlockFormat> = new Map(FORMATS.map((f) => [f.type, f]));

/** True when `type` is one of the quantized types Alki writes. */
export function isQuantType(type: GgmlType): type is QuantType {
  return BLOCK_FORMATS.has(type as QuantType);
}
