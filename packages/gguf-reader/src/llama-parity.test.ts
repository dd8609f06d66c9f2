import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { requireLlamaTool } from '@alki/llama-tools';
import { Bytes, header, negativeDimensionFile, tensorInfo } from './__fixtures__/gguf-bytes.js';
import {
  bufferSource,
  GgmlType,
  ggufArray,
  ggufEntry,
  GgufError,
  GgufValueType,
  layoutTensors,
  readGguf,
  serializeGgufHeader,
  type GgufErrorCode,
} from './index.js';

// Every structural check of the reader, run against llama.cpp's own loader:
// `llama-gguf-split --split --dry-run` calls gguf_init_from_file (no_alloc)
// and stops there, so its verdict is gguf.cpp's alone. Each case says what
// both should do; where they differ, the case names the reason, and
// docs/gguf-validation.md lists the same differences.
type Verdict = 'accepts' | 'rejects';
interface ParityCase {
  name: string;
  bytes: Uint8Array;
  reader: GgufErrorCode | 'accepts';
  llama: Verdict;
  /** Why the reader and gguf.cpp disagree (required when they do). */
  difference?: 'spec allows it' | 'stricter';
}

const data = (n: number) => new Uint8Array(n);
const oneTensor = (name: string | number[], dims: number[], type = 0, offset = 0, dataBytes = 64) =>
  tensorInfo(header(1, 0), name, dims, type, offset).padTo(32).raw(data(dataBytes)).build();
const kv = (key: string | number[], type: number, value: (b: Bytes) => Bytes) =>
  value(header(0, 1).str(key).u32(type)).raw(data(16)).build();

function littleAndBig(littleEndian: boolean): Uint8Array {
  const tensors = layoutTensors([{ name: 'w', type: GgmlType.F32, dims: [8] }]);
  const head = serializeGgufHeader({
    metadata: [ggufEntry.string('general.architecture', 'llama')],
    tensors,
    littleEndian,
  });
  const bytes = new Uint8Array(head.length + 32);
  bytes.set(head);
  return bytes;
}

const cases: ParityCase[] = [
  { name: 'a valid file', bytes: littleAndBig(true), reader: 'accepts', llama: 'accepts' },
  {
    name: 'a valid big-endian file',
    bytes: littleAndBig(false),
    reader: 'accepts',
    // gguf.cpp refuses a byte-swapped version on a little-endian host.
    llama: 'rejects',
    difference: 'spec allows it',
  },
  {
    name: 'a bad magic',
    bytes: new Uint8Array([0x47, 0x47, 0x55, 0x00, 3, 0, 0, 0]),
    reader: 'BAD_MAGIC',
    llama: 'rejects',
  },
  { name: 'version 0', bytes: header(0, 0, 0).build(), reader: 'UNSUPPORTED_VERSION', llama: 'rejects' },
  { name: 'version 1', bytes: header(0, 0, 1).build(), reader: 'UNSUPPORTED_VERSION', llama: 'rejects' },
  { name: 'version 4', bytes: header(0, 0, 4).build(), reader: 'UNSUPPORTED_VERSION', llama: 'rejects' },
  {
    name: 'a header cut short',
    bytes: header(0, 0).build().subarray(0, 20),
    reader: 'TRUNCATED',
    llama: 'rejects',
  },
  {
    name: 'a negative tensor count',
    bytes: header(-1n & (2n ** 64n - 1n), 0).build(),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'a tensor count past the file',
    bytes: header(1000, 0).build(),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'a metadata count past the file',
    bytes: header(0, 1000).build(),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'an empty key',
    bytes: kv('', GgufValueType.UINT8, (b) => b.u8(1)),
    reader: 'EMPTY_KEY',
    llama: 'rejects',
  },
  {
    name: 'a duplicate key',
    bytes: header(0, 2)
      .str('k')
      .u32(GgufValueType.UINT8)
      .u8(1)
      .str('k')
      .u32(GgufValueType.UINT8)
      .u8(2)
      .raw(data(8))
      .build(),
    reader: 'DUPLICATE_KEY',
    llama: 'rejects',
  },
  {
    name: 'a key longer than the file',
    bytes: header(0, 1).u64(1000).raw(data(20)).build(),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'an unknown value type',
    bytes: kv('k', 13, (b) => b.u8(0)),
    reader: 'UNKNOWN_VALUE_TYPE',
    llama: 'rejects',
  },
  {
    name: 'an array of an unknown type',
    bytes: kv('k', GgufValueType.ARRAY, (b) => b.u32(99).u64(0)),
    reader: 'UNKNOWN_VALUE_TYPE',
    llama: 'rejects',
  },
  {
    name: 'an array longer than the file',
    bytes: kv('k', GgufValueType.ARRAY, (b) => b.u32(GgufValueType.UINT32).u64(1_000_000)),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'a string array longer than the file',
    bytes: kv('k', GgufValueType.ARRAY, (b) => b.u32(GgufValueType.STRING).u64(1_000_000)),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'a nested array',
    bytes: (() => {
      const tensors = layoutTensors([]);
      const nested = ggufEntry.array('k', GgufValueType.ARRAY, [ggufArray(GgufValueType.INT32, [1, 2])]);
      return serializeGgufHeader({ metadata: [nested], tensors });
    })(),
    reader: 'accepts',
    // gguf.cpp has no case for an array of arrays; the spec says "Any value type is valid, including arrays".
    llama: 'rejects',
    difference: 'spec allows it',
  },
  {
    name: 'a bool that is neither 0 nor 1',
    bytes: kv('k', GgufValueType.BOOL, (b) => b.u8(2)),
    reader: 'INVALID_VALUE',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'a key that is not UTF-8',
    bytes: kv([0xc0, 0xaf], GgufValueType.UINT8, (b) => b.u8(1)),
    reader: 'INVALID_UTF8',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'a string value that is not UTF-8',
    bytes: kv('k', GgufValueType.STRING, (b) => b.str([0xed, 0xa0, 0x80])),
    reader: 'INVALID_UTF8',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'an alignment that is not a power of two',
    bytes: kv('general.alignment', GgufValueType.UINT32, (b) => b.u32(48)),
    reader: 'BAD_ALIGNMENT',
    llama: 'rejects',
  },
  {
    name: 'an alignment of 0',
    bytes: kv('general.alignment', GgufValueType.UINT32, (b) => b.u32(0)),
    reader: 'BAD_ALIGNMENT',
    llama: 'rejects',
  },
  {
    name: 'an alignment that is not a uint32',
    bytes: kv('general.alignment', GgufValueType.UINT64, (b) => b.u64(32)),
    reader: 'BAD_ALIGNMENT',
    llama: 'rejects',
  },
  {
    name: 'a 64-byte tensor name',
    bytes: oneTensor('x'.repeat(64), [1]),
    reader: 'NAME_TOO_LONG',
    llama: 'rejects',
  },
  {
    name: 'a 63-byte tensor name',
    bytes: oneTensor('x'.repeat(63), [1]),
    reader: 'accepts',
    llama: 'accepts',
  },
  {
    name: 'an empty tensor name',
    bytes: oneTensor('', [1]),
    reader: 'BAD_TENSOR_NAME',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'a tensor name with a NUL byte',
    bytes: oneTensor([0x61, 0x00, 0x62], [1]),
    reader: 'BAD_TENSOR_NAME',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'two tensor names that are equal up to a NUL byte',
    bytes: (() => {
      const b = header(2, 0);
      tensorInfo(b, 'a', [1], 0, 0);
      tensorInfo(b, [0x61, 0x00, 0x62], [1], 0, 32);
      return b.padTo(32).raw(data(64)).build();
    })(),
    reader: 'BAD_TENSOR_NAME',
    llama: 'rejects',
  },
  {
    name: 'a duplicate tensor name',
    bytes: (() => {
      const b = header(2, 0);
      tensorInfo(b, 'same', [1], 0, 0);
      tensorInfo(b, 'same', [1], 0, 32);
      return b.padTo(32).raw(data(64)).build();
    })(),
    reader: 'DUPLICATE_TENSOR',
    llama: 'rejects',
  },
  {
    name: 'five dimensions',
    bytes: oneTensor('t', [1, 1, 1, 1, 1]),
    reader: 'BAD_DIMENSIONS',
    llama: 'rejects',
  },
  {
    name: 'a dimension of -1',
    bytes: negativeDimensionFile(),
    reader: 'COUNT_TOO_LARGE',
    llama: 'rejects',
  },
  {
    name: 'a zero-sized dimension',
    bytes: oneTensor('t', [32, 0]),
    reader: 'ZERO_DIMENSION',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'more elements than int64 holds',
    bytes: oneTensor('t', [2 ** 40, 2 ** 30 + 1]),
    reader: 'BAD_DIMENSIONS',
    llama: 'rejects',
  },
  {
    name: 'an element count that wraps to 0 in int64',
    // 2^93 elements: ggml_nelements overflows to 0, which skips gguf.cpp's
    // overflow check ("a zero-element tensor is trivially representable").
    bytes: oneTensor('t', [2 ** 31, 2 ** 31, 2 ** 31]),
    reader: 'BAD_DIMENSIONS',
    llama: 'accepts',
    difference: 'stricter',
  },
  {
    name: 'a retired tensor type (Q4_2)',
    bytes: oneTensor('t', [32], 4),
    reader: 'UNKNOWN_TENSOR_TYPE',
    llama: 'rejects',
  },
  {
    name: 'a tensor type past the last',
    bytes: oneTensor('t', [32], 43),
    reader: 'UNKNOWN_TENSOR_TYPE',
    llama: 'rejects',
  },
  {
    name: 'a row that is not whole blocks',
    bytes: oneTensor('t', [33], GgmlType.Q4_0),
    reader: 'BAD_DIMENSIONS',
    llama: 'rejects',
  },
  {
    name: 'a misaligned data offset',
    bytes: oneTensor('t', [4], 0, 4),
    reader: 'MISALIGNED_TENSOR',
    llama: 'rejects',
  },
  {
    name: 'overlapping tensor data',
    bytes: (() => {
      const b = header(2, 0);
      tensorInfo(b, 'a', [16], 0, 0);
      tensorInfo(b, 'b', [16], 0, 32);
      return b.padTo(32).raw(data(128)).build();
    })(),
    reader: 'OVERLAPPING_TENSORS',
    llama: 'rejects',
  },
  {
    name: 'a gap between tensors',
    bytes: (() => {
      const b = header(2, 0);
      tensorInfo(b, 'a', [16], 0, 0);
      tensorInfo(b, 'b', [16], 0, 96);
      return b.padTo(32).raw(data(192)).build();
    })(),
    reader: 'TENSOR_DATA_GAP',
    llama: 'rejects',
  },
  {
    name: 'tensor data in another order than the tensor infos',
    bytes: (() => {
      const b = header(2, 0);
      tensorInfo(b, 'a', [16], 0, 64);
      tensorInfo(b, 'b', [16], 0, 0);
      return b.padTo(32).raw(data(128)).build();
    })(),
    reader: 'TENSOR_DATA_GAP',
    llama: 'rejects',
  },
  {
    name: 'a file that ends before the data padding',
    bytes: tensorInfo(header(1, 0), 't', [1], 0, 0).build(),
    reader: 'TRUNCATED',
    llama: 'rejects',
  },
  {
    name: 'tensor data past the end of the file',
    bytes: oneTensor('t', [1024], 0, 0, 100),
    reader: 'DATA_PAST_END',
    // gguf.cpp does not read data with no_alloc; llama_model_loader refuses it
    // ("tensor data is not within the file bounds").
    llama: 'accepts',
    difference: 'stricter',
  },
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-parity-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function llamaVerdict(bytes: Uint8Array, index: number): { verdict: Verdict; log: string } {
  const file = path.join(dir, `case-${index}.gguf`);
  fs.writeFileSync(file, bytes);
  const result = spawnSync(
    requireLlamaTool('llama-gguf-split'),
    ['--split', '--dry-run', '--split-max-tensors', '1000', file, path.join(dir, `out-${index}`)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const log = `${result.stdout}${result.stderr}`;
  if (result.status !== 0 && !/failed to load input GGUF/.test(log))
    throw new Error(`llama-gguf-split failed another way (${result.status}): ${log}`);
  return { verdict: result.status === 0 ? 'accepts' : 'rejects', log };
}

async function readerVerdict(bytes: Uint8Array): Promise<GgufErrorCode | 'accepts'> {
  try {
    await readGguf(bufferSource(bytes));
    return 'accepts';
  } catch (error) {
    if (!(error instanceof GgufError)) throw error;
    return error.code;
  }
}

describe("the reader against llama.cpp's gguf loader", () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, parity, index) => {
    const llama = llamaVerdict(parity.bytes, index);
    expect({ case: parity.name, llama: llama.verdict }).toEqual({ case: parity.name, llama: parity.llama });
    expect(await readerVerdict(parity.bytes)).toBe(parity.reader);
    // A difference is allowed only where the case names its reason.
    const agree = (parity.reader === 'accepts') === (parity.llama === 'accepts');
    expect(parity.difference === undefined).toBe(agree);
  });
});
