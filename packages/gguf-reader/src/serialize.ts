import { GgufError } from './errors.js';
import { ggmlTypeInfo, tensorByteSize } from './ggml-types.js';
import { MAX_ARRAY_NESTING, MAX_TENSOR_DIMS, MAX_TENSOR_NAME_BYTES } from './limits.js';
import { alignmentFromMetadata, alignUp, DEFAULT_ALIGNMENT, isPowerOfTwo } from './alignment.js';
import {
  GgmlType,
  GgufValueType,
  type GgufArray,
  type GgufMetadataEntry,
  type GgufTensorInfo,
  type GgufValue,
} from './types.js';
import { encodeUtf8 } from './utf8.js';
import { SCALAR_SIZES, valueText } from './value-types.js';

/** A tensor to be written: its data size and offset are computed by the writer. */
export interface GgufTensorSpec {
  name: string;
  type: GgmlType;
  dims: number[];
}

/** Everything before the tensor data. */
export interface GgufHeaderSpec {
  /** 3 unless rewriting an old file byte for byte. */
  version?: 2 | 3;
  /** true unless writing for a big-endian host. Tensor data is never swapped. */
  littleEndian?: boolean;
  metadata: GgufMetadataEntry[];
  /** Tensor infos with offsets, as `layoutTensors` computes them. */
  tensors: GgufTensorInfo[];
  /** Padding after the tensor infos; must match general.alignment when present. */
  alignment?: number;
}

/**
 * Gives each tensor its data offset: tensors follow one another in order,
 * each padded to the alignment (gguf.cpp gguf_add_tensor / gguf_write_out).
 *
 * @example
 * layoutTensors([{ name: 'a', type: GgmlType.F32, dims: [3] }], 32)[0]; // { ..., offset: 0, byteSize: 12 }
 */
export function layoutTensors(
  tensors: readonly GgufTensorSpec[],
  alignment = DEFAULT_ALIGNMENT,
): GgufTensorInfo[] {
  let offset = 0;
  const names = new Set<string>();
  return tensors.map(({ name, type, dims }) => {
    checkTensorSpec(name, type, dims);
    if (names.has(name)) throw invalid(`The tensor name "${name}" is used twice.`, { name });
    names.add(name);
    const byteSize = tensorByteSize(type, dims);
    const info: GgufTensorInfo = { name, type, dims: [...dims], offset, byteSize };
    offset = alignUp(offset + byteSize, alignment);
    return info;
  });
}

/**
 * Serializes magic, version, counts, metadata and tensor infos, padded to the
 * alignment so that tensor data can follow directly. Pure: no I/O.
 *
 * @example
 * const tensors = layoutTensors([{ name: 'w', type: GgmlType.F32, dims: [4] }]);
 * const header = serializeGgufHeader({ metadata: [ggufEntry.string('general.architecture', 'llama')], tensors });
 */
export function serializeGgufHeader(spec: GgufHeaderSpec): Uint8Array {
  const alignment = spec.alignment ?? alignmentFromMetadata(spec.metadata);
  if (!isPowerOfTwo(alignment)) throw invalid(`The alignment must be a power of two, got ${alignment}.`, {});
  const out = new ByteWriter(spec.littleEndian ?? true);
  out.bytes(encodeUtf8('GGUF'));
  out.u32(spec.version ?? 3);
  out.u64(spec.tensors.length);
  out.u64(spec.metadata.length);
  const keys = new Set<string>();
  for (const entry of spec.metadata) {
    if (entry.key === '') throw invalid('A metadata key is empty.', {});
    if (keys.has(entry.key))
      throw invalid(`The metadata key "${entry.key}" is used twice.`, { key: entry.key });
    keys.add(entry.key);
    out.string(entry.key);
    out.u32(entry.type);
    writeValue(out, entry.type, entry.value, entry.key, 0);
  }
  for (const tensor of spec.tensors) {
    checkTensorSpec(tensor.name, tensor.type, tensor.dims);
    if (tensor.offset % alignment !== 0)
      throw invalid(
        `Tensor "${tensor.name}" has offset ${tensor.offset}, not a multiple of ${alignment}.`,
        {},
      );
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(tensor.type);
    out.u64(tensor.offset);
  }
  out.padTo(alignment);
  return out.finish();
}

function checkTensorSpec(name: string, type: GgmlType, dims: readonly number[]): void {
  const nameBytes = encodeUtf8(name).length;
  if (nameBytes > MAX_TENSOR_NAME_BYTES)
    throw invalid(`The tensor name "${name}" is ${nameBytes} bytes; the limit is ${MAX_TENSOR_NAME_BYTES}.`, {
      name,
    });
  if (dims.length > MAX_TENSOR_DIMS)
    throw invalid(`Tensor "${name}" has ${dims.length} dimensions; the limit is ${MAX_TENSOR_DIMS}.`, {
      name,
    });
  if (name === '' || name.includes('\0'))
    throw invalid(`The tensor name ${JSON.stringify(name)} is empty or holds a NUL byte.`, { name });
  for (const dim of dims)
    if (!Number.isSafeInteger(dim) || dim <= 0)
      throw invalid(`Tensor "${name}" has an invalid dimension ${dim}.`, { name });
  ggmlTypeInfo(type);
}

function invalid(message: string, details: Record<string, unknown>): GgufError {
  return new GgufError('INVALID_INPUT', message, { category: 'input', details });
}

const INTEGER_RANGES: Partial<Record<GgufValueType, [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

function writeValue(
  out: ByteWriter,
  type: GgufValueType,
  value: GgufValue,
  key: string,
  depth: number,
): void {
  const wrong = () =>
    invalid(`The value of "${key}" does not fit type ${GgufValueType[type] ?? type}: ${valueText(value)}.`, {
      key,
    });
  const range = INTEGER_RANGES[type];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1])
      throw wrong();
    out.integer(type, value);
    return;
  }
  switch (type) {
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== 'number') throw wrong();
      out.float(type, value);
      return;
    case GgufValueType.BOOL:
      if (typeof value !== 'boolean') throw wrong();
      out.u8(value ? 1 : 0);
      return;
    case GgufValueType.STRING:
      if (typeof value !== 'string') throw wrong();
      out.string(value);
      return;
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof value !== 'bigint') throw wrong();
      const fits =
        type === GgufValueType.UINT64
          ? value >= 0n && value < 1n << 64n
          : value >= -(1n << 63n) && value < 1n << 63n;
      if (!fits) throw wrong();
      out.bigint(type, value);
      return;
    }
    case GgufValueType.ARRAY: {
      const array = value as GgufArray;
      if (typeof array !== 'object' || array === null || !Array.isArray(array.items)) throw wrong();
      if (depth + 1 > MAX_ARRAY_NESTING)
        throw invalid(`"${key}" nests arrays more than ${MAX_ARRAY_NESTING} deep.`, { key });
      out.u32(array.itemType);
      out.u64(array.items.length);
      for (const item of array.items) writeValue(out, array.itemType, item, key, depth + 1);
      return;
    }
    default:
      throw invalid(`"${key}" has unknown value type ${String(type)}.`, { key });
  }
}

/** A growable byte buffer with GGUF's primitive encodings. */
class ByteWriter {
  private buffer = new Uint8Array(64 * 1024);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  constructor(private readonly littleEndian: boolean) {}

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < at + n) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(0, at));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  // Every write reserves first: reserve may replace this.buffer and this.view.
  bytes(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.buffer.set(data, at);
  }

  u8(value: number): void {
    const at = this.reserve(1);
    this.buffer[at] = value;
  }

  u32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value, this.littleEndian);
  }

  u64(value: number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), this.littleEndian);
  }

  integer(type: GgufValueType, value: number): void {
    const at = this.reserve(SCALAR_SIZES[type]!);
    const le = this.littleEndian;
    if (type === GgufValueType.UINT8) this.view.setUint8(at, value);
    else if (type === GgufValueType.INT8) this.view.setInt8(at, value);
    else if (type === GgufValueType.UINT16) this.view.setUint16(at, value, le);
    else if (type === GgufValueType.INT16) this.view.setInt16(at, value, le);
    else if (type === GgufValueType.UINT32) this.view.setUint32(at, value, le);
    else this.view.setInt32(at, value, le);
  }

  float(type: GgufValueType, value: number): void {
    const at = this.reserve(SCALAR_SIZES[type]!);
    if (type === GgufValueType.FLOAT32) this.view.setFloat32(at, value, this.littleEndian);
    else this.view.setFloat64(at, value, this.littleEndian);
  }

  bigint(type: GgufValueType, value: bigint): void {
    const at = this.reserve(8);
    if (type === GgufValueType.UINT64) this.view.setBigUint64(at, value, this.littleEndian);
    else this.view.setBigInt64(at, value, this.littleEndian);
  }

  string(text: string): void {
    // Reserve the worst case (3 bytes per UTF-16 unit), then encode in place.
    const lengthAt = this.reserve(8);
    const start = this.reserve(text.length * 3);
    const { written } = ENCODER.encodeInto(text, this.buffer.subarray(start));
    this.length = start + written;
    this.view.setBigUint64(lengthAt, BigInt(written), this.littleEndian);
  }

  padTo(alignment: number): void {
    const padding = alignUp(this.length, alignment) - this.length;
    const at = this.reserve(padding);
    this.buffer.fill(0, at, at + padding);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

const ENCODER = new TextEncoder();
