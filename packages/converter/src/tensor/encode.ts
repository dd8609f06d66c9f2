import { GgmlType } from '@alki/gguf-reader';
import {
  bf16ToFp32Row,
  fp16ToFp32Row,
  fp32ToFp16Row,
  Q8_0_BLOCK_BYTES,
  QK8_0,
  quantizeRowQ8_0,
} from '@alki/quantizer';
import type { SafetensorsDtype } from '../safetensors/dtypes.js';
import { fp32ToBf16Row } from './bf16.js';

/** Bytes that `count` values take in a ggml type the converter writes. */
export function encodedByteLength(type: GgmlType, count: number): number {
  switch (type) {
    case GgmlType.F32:
      return count * 4;
    case GgmlType.F16:
    case GgmlType.BF16:
      return count * 2;
    case GgmlType.Q8_0:
      return (count / QK8_0) * Q8_0_BLOCK_BYTES;
    default:
      throw new Error(`The converter does not write ggml type ${GgmlType[type]}.`);
  }
}

/** Decodes F32/F16/BF16 little-endian bytes to float32 values. */
export function decodeToFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, out: Float32Array): void {
  if (dtype === 'F16') fp16ToFp32Row(bytes, out);
  else if (dtype === 'BF16') bf16ToFp32Row(bytes, out);
  else out.set(new Float32Array(bytes.buffer, bytes.byteOffset, out.length));
}

/** Encodes float32 values to a ggml type (Q8_0 needs whole 32-value blocks). */
export function encodeFromFloat32(values: Float32Array, type: GgmlType, out: Uint8Array): void {
  if (type === GgmlType.F32) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  else if (type === GgmlType.F16) fp32ToFp16Row(values, out);
  else if (type === GgmlType.BF16) fp32ToBf16Row(values, out);
  else if (type === GgmlType.Q8_0) quantizeRowQ8_0(values, out);
  else throw new Error(`The converter does not write ggml type ${GgmlType[type]}.`);
}

/** The ggml type whose bytes equal a safetensors dtype's, for a pass-through copy. */
export function ggmlTypeOfDtype(dtype: SafetensorsDtype): GgmlType | undefined {
  return dtype === 'F32'
    ? GgmlType.F32
    : dtype === 'F16'
      ? GgmlType.F16
      : dtype === 'BF16'
        ? GgmlType.BF16
        : undefined;
}

/**
 * Encodes float32 values as safetensors F32, F16 or BF16 bytes (for writers
 * of checkpoints, such as the test fixture generator).
 *
 * @example
 * const bytes = encodeFloat32As(new Float32Array([1, 2]), 'F16'); // 4 bytes
 */
export function encodeFloat32As(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32')
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.length * 2);
  if (dtype === 'F16') fp32ToFp16Row(values, out);
  else fp32ToBf16Row(values, out);
  return out;
}
