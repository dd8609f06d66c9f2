import { GgufError } from './errors.js';
import { GgmlType } from './types.js';

/** Block layout of a ggml tensor type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  type: GgmlType;
  name: string;
  blockSize: number;
  typeSize: number;
}

// Block and byte sizes of every type llama.cpp knows, from the block_* structs
// and their static_asserts in ggml/src/ggml-common.h (QK_K = 256) and the
// type_traits table in ggml/src/ggml.c.
const QK_K = 256;
const TABLE: Array<[GgmlType, number, number]> = [
  [GgmlType.F32, 1, 4],
  [GgmlType.F16, 1, 2],
  [GgmlType.Q4_0, 32, 2 + 16],
  [GgmlType.Q4_1, 32, 2 * 2 + 16],
  [GgmlType.Q5_0, 32, 2 + 4 + 16],
  [GgmlType.Q5_1, 32, 2 * 2 + 4 + 16],
  [GgmlType.Q8_0, 32, 2 + 32],
  [GgmlType.Q8_1, 32, 2 * 2 + 32],
  [GgmlType.Q2_K, QK_K, 2 * 2 + QK_K / 16 + QK_K / 4],
  [GgmlType.Q3_K, QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  [GgmlType.Q4_K, QK_K, 2 * 2 + 12 + QK_K / 2],
  [GgmlType.Q5_K, QK_K, 2 * 2 + 12 + QK_K / 2 + QK_K / 8],
  [GgmlType.Q6_K, QK_K, 2 + QK_K / 16 + (3 * QK_K) / 4],
  [GgmlType.Q8_K, QK_K, 4 + QK_K + (QK_K / 16) * 2],
  [GgmlType.IQ2_XXS, QK_K, 2 + (QK_K / 8) * 2],
  [GgmlType.IQ2_XS, QK_K, 2 + (QK_K / 8) * 2 + QK_K / 32],
  [GgmlType.IQ3_XXS, QK_K, 2 + 3 * (QK_K / 8)],
  [GgmlType.IQ1_S, QK_K, 2 + QK_K / 8 + QK_K / 16],
  [GgmlType.IQ4_NL, 32, 2 + 16],
  [GgmlType.IQ3_S, QK_K, 2 + 13 * (QK_K / 32) + 4],
  [GgmlType.IQ2_S, QK_K, 2 + QK_K / 4 + QK_K / 16],
  [GgmlType.IQ4_XS, QK_K, 2 + 2 + QK_K / 64 + QK_K / 2],
  [GgmlType.I8, 1, 1],
  [GgmlType.I16, 1, 2],
  [GgmlType.I32, 1, 4],
  [GgmlType.I64, 1, 8],
  [GgmlType.F64, 1, 8],
  [GgmlType.IQ1_M, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  [GgmlType.BF16, 1, 2],
  [GgmlType.TQ1_0, QK_K, 2 + QK_K / 64 + (QK_K - (4 * QK_K) / 64) / 5],
  [GgmlType.TQ2_0, QK_K, 2 + QK_K / 4],
  [GgmlType.MXFP4, 32, 1 + 16],
  [GgmlType.NVFP4, 64, 64 / 16 + 64 / 2],
  [GgmlType.Q1_0, 128, 2 + 128 / 8],
  [GgmlType.Q2_0, 64, 2 + 64 / 4],
];

const BY_ID = new Map<number, GgmlTypeInfo>(
  TABLE.map(([type, blockSize, typeSize]) => [type, { type, name: GgmlType[type], blockSize, typeSize }]),
);
const BY_NAME = new Map<string, GgmlTypeInfo>([...BY_ID.values()].map((info) => [info.name, info]));

/**
 * Every ggml type llama.cpp knows, in id order.
 *
 * @example
 * ggmlTypes().map((t) => t.name); // ['F32', 'F16', 'Q4_0', ...]
 */
export function ggmlTypes(): GgmlTypeInfo[] {
  return [...BY_ID.values()];
}

/**
 * True when `type` is a tensor type id llama.cpp knows.
 *
 * @example
 * isKnownGgmlType(12); // true (Q4_K)
 * isKnownGgmlType(4); // false (Q4_2, retired)
 */
export function isKnownGgmlType(type: number): type is GgmlType {
  return BY_ID.has(type);
}

/**
 * The block layout of a ggml type.
 *
 * @example
 * ggmlTypeInfo(GgmlType.Q4_K); // { type: 12, name: 'Q4_K', blockSize: 256, typeSize: 144 }
 */
export function ggmlTypeInfo(type: GgmlType | number): GgmlTypeInfo {
  const info = BY_ID.get(type);
  if (!info)
    throw new GgufError('UNKNOWN_TENSOR_TYPE', `Unknown ggml tensor type id ${type}.`, {
      details: { type },
    });
  return info;
}

/**
 * The ggml type with this name, case-insensitive (`'q4_k'`, `'Q4_K'`, `'bf16'`).
 *
 * @example
 * ggmlTypeFromName('Q8_0'); // GgmlType.Q8_0
 */
export function ggmlTypeFromName(name: string): GgmlType {
  const info = BY_NAME.get(name.toUpperCase());
  if (!info) {
    throw new GgufError('UNKNOWN_TENSOR_TYPE', `Unknown ggml tensor type "${name}".`, {
      category: 'usage',
      details: { name },
      hint: `Known types: ${[...BY_NAME.keys()].join(', ')}.`,
    });
  }
  return info.type;
}

/**
 * Bytes of data a tensor of this type and shape holds (ggml_nbytes for a
 * contiguous tensor). `dims[0]` must be a multiple of the block size.
 *
 * @example
 * tensorByteSize(GgmlType.Q8_0, [4096, 32]); // 4096 / 32 * 34 * 32 = 139264
 */
export function tensorByteSize(type: GgmlType | number, dims: readonly number[]): number {
  const { blockSize, typeSize, name } = ggmlTypeInfo(type);
  const rowLength = dims.length ? dims[0] : 1;
  if (rowLength % blockSize !== 0) {
    throw new GgufError(
      'BAD_DIMENSIONS',
      `A ${name} row must be a multiple of ${blockSize} elements, got ${rowLength}.`,
      {
        details: { type, dims: [...dims] },
      },
    );
  }
  let elements = 1;
  for (const dim of dims) elements *= dim;
  return (elements / blockSize) * typeSize;
}
