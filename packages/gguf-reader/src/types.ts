// The data model shared by the GGUF reader and writer. Field names follow
// llama.cpp's docs/gguf.md and ggml/include/gguf.h.

/** Metadata value types, as numbered in the GGUF spec (gguf_type in gguf.h). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/**
 * ggml tensor types, numbered as enum ggml_type in ggml/include/ggml.h.
 * Ids 4, 5 (Q4_2, Q4_3) and 31-33 (Q4_0_4_4 and friends) are retired.
 */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
}

/**
 * A metadata value. Integers of 64 bits are bigint; every other number is a
 * JS number. An array carries its element type so it can be written back
 * byte for byte (arrays of arrays included).
 */
export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufArray {
  itemType: GgufValueType;
  items: GgufValue[];
}

/** One metadata key-value pair, in file order, with its exact type. */
export interface GgufMetadataEntry {
  key: string;
  type: GgufValueType;
  value: GgufValue;
}

/** One tensor info record. `dims[0]` is the row length (ggml's ne[0]). */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlType;
  /** Offset of the data relative to the start of the data section. */
  offset: number;
  /** Bytes of tensor data, computed from dims and the type's block size. */
  byteSize: number;
}

/** A parsed GGUF header: everything before the tensor data. */
export interface GgufFile {
  version: 2 | 3;
  littleEndian: boolean;
  metadata: GgufMetadataEntry[];
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset where the tensor data section starts. */
  dataOffset: number;
  /** Total size of the source in bytes, when known. */
  fileSize?: number;
}

/**
 * Random access to bytes: a local file (positioned reads), a buffer, or an
 * HTTP URL (range requests). The reader never asks for tensor data unless the
 * caller does.
 */
export interface ByteSource {
  /** Total size in bytes, when known up front. */
  readonly size?: number;
  /** Reads up to `length` bytes at `offset`; fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}
