import { GgufValueType } from '../types.js';

// Hand-built GGUF bytes, so each test can put exactly one defect exactly
// where it wants it. Little-endian, version 3.
export class Bytes {
  private parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: bigint | number) {
    const big = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((big >> (8n * i)) & 0xffn));
    return this;
  }
  raw(bytes: ArrayLike<number>) {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]);
    return this;
  }
  str(s: string | number[]) {
    const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s;
    return this.u64(bytes.length).raw(bytes);
  }
  padTo(alignment: number) {
    while (this.parts.length % alignment) this.parts.push(0);
    return this;
  }
  get length() {
    return this.parts.length;
  }
  build() {
    return new Uint8Array(this.parts);
  }
}

export function header(tensors: number | bigint, kvs: number | bigint, version = 3) {
  return new Bytes().raw([0x47, 0x47, 0x55, 0x46]).u32(version).u64(tensors).u64(kvs);
}

export function tensorInfo(b: Bytes, name: string | number[], dims: number[], type: number, offset: number) {
  b.str(name).u32(dims.length);
  for (const d of dims) b.u64(d);
  return b.u32(type).u64(offset);
}

/** A valid file: 3 metadata entries (string, string array, nested array), 2 F32 tensors. */
export function validFile(): { bytes: Uint8Array; sections: Record<string, [number, number]> } {
  const b = header(2, 3);
  const metaStart = b.length;
  b.str('general.architecture').u32(GgufValueType.STRING).str('llama');
  b.str('tokenizer.ggml.tokens')
    .u32(GgufValueType.ARRAY)
    .u32(GgufValueType.STRING)
    .u64(3)
    .str('a')
    .str('bc')
    .str('Ġd');
  b.str('nested')
    .u32(GgufValueType.ARRAY)
    .u32(GgufValueType.ARRAY)
    .u64(1)
    .u32(GgufValueType.UINT16)
    .u64(2)
    .raw([1, 0, 2, 0]);
  const infoStart = b.length;
  tensorInfo(b, 'a.weight', [4, 2], 0, 0);
  tensorInfo(b, 'b.weight', [3], 0, 32);
  const padStart = b.length;
  b.padTo(32);
  const dataStart = b.length;
  b.raw(new Uint8Array(32 + 12));
  return {
    bytes: b.build(),
    sections: {
      magic: [0, 4],
      version: [4, 8],
      counts: [8, 24],
      metadata: [metaStart, infoStart],
      'tensor infos': [infoStart, padStart],
      'tensor data': [dataStart, b.length],
    },
  };
}

/** One tensor whose only dimension is -1 as an int64 (2^64 - 1 as a uint64). */
export function negativeDimensionFile(): Uint8Array {
  return header(1, 0)
    .str('t')
    .u32(1)
    .u64(-1n & (2n ** 64n - 1n))
    .u32(0)
    .u64(0)
    .padTo(32)
    .raw(new Uint8Array(32))
    .build();
}
