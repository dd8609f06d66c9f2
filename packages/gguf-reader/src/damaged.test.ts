import { describe, expect, it } from '@jest/globals';
import {
  bufferSource,
  GgufError,
  GgufValueType,
  readGguf,
  type ByteSource,
  type GgufErrorCode,
} from './index.js';
import { header, negativeDimensionFile, tensorInfo, validFile } from './__fixtures__/gguf-bytes.js';

/** A source that records the largest read it was asked for. */
function recordingSource(bytes: Uint8Array): ByteSource & { largestRead: number } {
  const inner = bufferSource(bytes);
  const source = {
    size: bytes.length,
    largestRead: 0,
    read: (offset: number, length: number) => {
      source.largestRead = Math.max(source.largestRead, length);
      return inner.read(offset, length);
    },
  };
  return source;
}

async function expectCode(
  bytes: Uint8Array,
  code: GgufErrorCode | GgufErrorCode[],
  offset?: number,
): Promise<GgufError> {
  const source = recordingSource(bytes);
  const error = await readGguf(source).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GgufError);
  expect([code].flat()).toContain((error as GgufError).code);
  expect(typeof (error as GgufError).details.offset).toBe('number');
  if (offset !== undefined) expect((error as GgufError).details.offset).toBe(offset);
  // Never asks for more bytes than the file has, whatever the counts say.
  expect(source.largestRead).toBeLessThanOrEqual(bytes.length);
  return error as GgufError;
}

describe('readGguf on damaged files', () => {
  it('reads the undamaged reference file', async () => {
    const file = await readGguf(bufferSource(validFile().bytes));
    expect(file.tensors.map((t) => t.name)).toEqual(['a.weight', 'b.weight']);
    expect(file.metadata[2].value).toEqual({
      itemType: GgufValueType.ARRAY,
      items: [{ itemType: GgufValueType.UINT16, items: [1, 2] }],
    });
  });

  it('gives a typed error for a file cut at every byte, inside every section', async () => {
    const { bytes, sections } = validFile();
    for (const [section, [start, end]] of Object.entries(sections)) {
      for (let cut = start; cut < end; cut++) {
        // A cut file's counts can also claim more than what is left.
        await expectCode(
          bytes.subarray(0, cut),
          section === 'tensor data' ? 'DATA_PAST_END' : ['TRUNCATED', 'COUNT_TOO_LARGE'],
        );
      }
    }
  });

  it('rejects a bad magic and unsupported versions', async () => {
    const bytes = validFile().bytes.slice();
    bytes[0] = 0x00;
    await expectCode(bytes, 'BAD_MAGIC', 0);
    for (const version of [0, 1, 4, 0x7fff]) {
      await expectCode(header(0, 0, version).build(), 'UNSUPPORTED_VERSION', 4);
    }
  });

  it('rejects counts larger than the file could hold, before allocating for them', async () => {
    await expectCode(header(2n ** 63n, 0).build(), 'COUNT_TOO_LARGE', 8);
    await expectCode(header(1_000_000, 0).build(), 'COUNT_TOO_LARGE', 8);
    await expectCode(header(0, 1_000_000_000).build(), 'COUNT_TOO_LARGE', 16);
    const array = header(0, 1)
      .str('k')
      .u32(GgufValueType.ARRAY)
      .u32(GgufValueType.UINT32)
      .u64(1_000_000_000)
      .build();
    await expectCode(array, 'COUNT_TOO_LARGE', 24 + 9 + 4 + 4);
    const strings = header(0, 1)
      .str('k')
      .u32(GgufValueType.ARRAY)
      .u32(GgufValueType.STRING)
      .u64(2n ** 40n)
      .build();
    await expectCode(strings, 'COUNT_TOO_LARGE');
    const longString = header(0, 1)
      .str('k')
      .u32(GgufValueType.STRING)
      .u64(2n ** 50n)
      .raw([1, 2, 3])
      .build();
    await expectCode(longString, 'COUNT_TOO_LARGE', 24 + 9 + 4);
    const longKey = header(0, 1).u64(1_000_000).raw(new Uint8Array(20)).build();
    await expectCode(longKey, 'COUNT_TOO_LARGE', 24);
  });

  it('rejects invalid UTF-8 in keys, values and tensor names', async () => {
    const overlong = [0xc0, 0xaf];
    const lone = [0xed, 0xa0, 0x80];
    await expectCode(header(0, 1).str(overlong).u32(GgufValueType.UINT8).u8(1).build(), 'INVALID_UTF8', 24);
    await expectCode(
      header(0, 1).str('k').u32(GgufValueType.STRING).str(lone).build(),
      'INVALID_UTF8',
      24 + 9 + 4,
    );
    const long = [...new TextEncoder().encode('x'.repeat(40)), 0xff];
    await expectCode(
      header(0, 1).str('k').u32(GgufValueType.ARRAY).u32(GgufValueType.STRING).u64(1).str(long).build(),
      'INVALID_UTF8',
    );
    const name = tensorInfo(header(1, 0), [0x61, 0x80], [1], 0, 0).padTo(32).raw(new Uint8Array(32)).build();
    await expectCode(name, 'INVALID_UTF8', 24);
  });

  it('rejects unknown value, item and tensor types', async () => {
    await expectCode(header(0, 1).str('k').u32(13).u8(0).build(), 'UNKNOWN_VALUE_TYPE', 24 + 9);
    await expectCode(
      header(0, 1).str('k').u32(GgufValueType.ARRAY).u32(99).u64(0).build(),
      'UNKNOWN_VALUE_TYPE',
    );
    for (const type of [4, 5, 31, 36, 43, 1000]) {
      const bytes = tensorInfo(header(1, 0), 't', [32], type, 0).padTo(32).raw(new Uint8Array(64)).build();
      const error = await expectCode(bytes, 'UNKNOWN_TENSOR_TYPE');
      expect(error.details.type).toBe(type);
    }
  });

  it('rejects misaligned, overlapping and out-of-file tensor data', async () => {
    const misaligned = tensorInfo(header(1, 0), 't', [4], 0, 4).padTo(32).raw(new Uint8Array(64)).build();
    await expectCode(misaligned, 'MISALIGNED_TENSOR');
    const b = header(2, 0);
    tensorInfo(b, 'a', [16], 0, 0);
    tensorInfo(b, 'b', [16], 0, 32);
    const overlapping = b.padTo(32).raw(new Uint8Array(128)).build();
    await expectCode(overlapping, 'OVERLAPPING_TENSORS');
    const past = tensorInfo(header(1, 0), 't', [1024], 0, 0).padTo(32).raw(new Uint8Array(100)).build();
    const error = await expectCode(past, 'DATA_PAST_END');
    expect(error.details.name).toBe('t');
  });

  it('rejects bad dimensions, names and alignment', async () => {
    const data = new Uint8Array(64);
    await expectCode(
      tensorInfo(header(1, 0), 't', [1, 1, 1, 1, 1], 0, 0).padTo(32).raw(data).build(),
      'BAD_DIMENSIONS',
      24,
    );
    await expectCode(
      tensorInfo(header(1, 0), 't', [33], 2, 0).padTo(32).raw(data).build(),
      'BAD_DIMENSIONS',
      24,
    );
    const huge = tensorInfo(header(1, 0), 't', [2 ** 30, 2 ** 30, 2 ** 30], 0, 0)
      .padTo(32)
      .raw(data)
      .build();
    await expectCode(huge, 'BAD_DIMENSIONS', 24);
    const negative = negativeDimensionFile();
    await expectCode(negative, 'COUNT_TOO_LARGE');
    await expectCode(
      tensorInfo(header(1, 0), 'x'.repeat(64), [1], 0, 0).padTo(32).raw(data).build(),
      'NAME_TOO_LONG',
      24,
    );
    const b = header(2, 0);
    tensorInfo(b, 'same', [1], 0, 0);
    tensorInfo(b, 'same', [1], 0, 32);
    await expectCode(b.padTo(32).raw(data).build(), 'DUPLICATE_TENSOR');
    const alignment = header(0, 1).str('general.alignment').u32(GgufValueType.UINT32).u32(48).build();
    await expectCode(alignment, 'BAD_ALIGNMENT', 24);
    const alignmentType = header(0, 1).str('general.alignment').u32(GgufValueType.UINT64).u64(32).build();
    await expectCode(alignmentType, 'BAD_ALIGNMENT');
  });

  it('rejects duplicate keys, non-bool bools and absurd nesting', async () => {
    await expectCode(
      header(0, 2).str('k').u32(GgufValueType.UINT8).u8(1).str('k').u32(GgufValueType.UINT8).u8(2).build(),
      'DUPLICATE_KEY',
      24 + 14,
    );
    await expectCode(header(0, 1).str('k').u32(GgufValueType.BOOL).u8(2).build(), 'INVALID_VALUE', 24 + 13);
    const deep = header(0, 1).str('k').u32(GgufValueType.ARRAY);
    for (let i = 0; i < 40; i++) deep.u32(GgufValueType.ARRAY).u64(1);
    deep.u32(GgufValueType.UINT8).u64(0);
    await expectCode(deep.build(), 'NESTING_TOO_DEEP');
  });

  it('rejects an empty metadata key, as gguf.cpp does', async () => {
    const error = await expectCode(
      header(0, 2)
        .str('a')
        .u32(GgufValueType.UINT8)
        .u8(1)
        .str('')
        .u32(GgufValueType.UINT8)
        .u8(2)
        .raw(new Uint8Array(8))
        .build(),
      'EMPTY_KEY',
      24 + 14,
    );
    expect(error.details.index).toBe(1);
  });

  it('rejects an empty tensor name and a name with a NUL byte', async () => {
    const data = new Uint8Array(32);
    await expectCode(
      tensorInfo(header(1, 0), '', [1], 0, 0).padTo(32).raw(data).build(),
      'BAD_TENSOR_NAME',
      24,
    );
    // ggml_set_name would cut "a\0b" to "a", and then two names collide.
    const b = header(2, 0);
    tensorInfo(b, 'a', [1], 0, 0);
    tensorInfo(b, [0x61, 0x00, 0x62], [1], 0, 32);
    await expectCode(b.padTo(32).raw(new Uint8Array(64)).build(), 'BAD_TENSOR_NAME', 24 + 33);
  });

  it('rejects a tensor with a zero-sized dimension, wherever the zero is', async () => {
    for (const dims of [[0], [32, 0], [32, 1, 0], [32, 2, 3, 0]]) {
      const bytes = tensorInfo(header(1, 0), 't', dims, 0, 0).padTo(32).raw(new Uint8Array(32)).build();
      const error = await expectCode(bytes, 'ZERO_DIMENSION', 24);
      expect(error.details.dims).toEqual(dims);
    }
  });

  it('rejects tensor data that is not packed in the order of the tensor infos', async () => {
    // a: 16 F32 = 64 bytes at 0; b must then start at 64.
    const gap = header(2, 0);
    tensorInfo(gap, 'a', [16], 0, 0);
    tensorInfo(gap, 'b', [16], 0, 96);
    const gapError = await expectCode(gap.padTo(32).raw(new Uint8Array(192)).build(), 'TENSOR_DATA_GAP');
    expect(gapError.details).toMatchObject({ name: 'b', expected: 64 });
    // Swapped offsets: the data is all there, but not where gguf.cpp looks.
    const swapped = header(2, 0);
    tensorInfo(swapped, 'a', [16], 0, 64);
    tensorInfo(swapped, 'b', [16], 0, 0);
    await expectCode(swapped.padTo(32).raw(new Uint8Array(128)).build(), 'TENSOR_DATA_GAP');
    // The first tensor must start at data offset 0.
    const late = tensorInfo(header(1, 0), 'a', [8], 0, 32).padTo(32).raw(new Uint8Array(64)).build();
    await expectCode(late, 'TENSOR_DATA_GAP');
  });

  it('rejects a file that ends before the padding in front of the tensor data', async () => {
    const bytes = tensorInfo(header(1, 0), 't', [1], 0, 0).build();
    expect(bytes.length % 32).not.toBe(0);
    await expectCode(bytes, 'TRUNCATED', bytes.length);
  });

  it("rejects an array over gguf.cpp's item limit even when the source size is unknown", async () => {
    const bytes = header(0, 1)
      .str('k')
      .u32(GgufValueType.ARRAY)
      .u32(GgufValueType.UINT8)
      .u64(2 ** 30 + 1)
      .build();
    const inner = bufferSource(bytes);
    await expect(readGguf({ read: (offset, length) => inner.read(offset, length) })).rejects.toMatchObject({
      code: 'COUNT_TOO_LARGE',
      details: { offset: 24 + 9 + 4 + 4, count: 2 ** 30 + 1 },
    });
  });

  it('reads a file with unknown size (no size on the source) and still stops at the end', async () => {
    const { bytes } = validFile();
    const inner = bufferSource(bytes.subarray(0, 60));
    await expect(readGguf({ read: (offset, length) => inner.read(offset, length) })).rejects.toMatchObject({
      code: 'TRUNCATED',
    });
    const whole = bufferSource(bytes);
    const file = await readGguf({ read: (offset, length) => whole.read(offset, length) });
    expect(file.fileSize).toBeUndefined();
    expect(file.tensors).toHaveLength(2);
  });
});
