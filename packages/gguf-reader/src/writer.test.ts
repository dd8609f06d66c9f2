import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  bufferSource,
  createGgufWriter,
  fileSource,
  getMetadata,
  ggufArray,
  ggufEntry,
  GgmlType,
  GgufError,
  GgufValueType,
  layoutTensors,
  openGguf,
  readGguf,
  readTensorData,
  serializeGgufHeader,
  type GgufMetadataEntry,
  type WriterFileHandle,
  type WriterFileSystem,
} from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-writer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The real file system, with some file-handle methods replaced (faults, counters). */
function realFileSystem(
  override: (target: string, handle: fs.promises.FileHandle) => Partial<WriterFileHandle>,
): WriterFileSystem {
  return {
    rename: (from, to) => fs.promises.rename(from, to),
    link: (from, to) => fs.promises.link(from, to),
    rm: (target, options) => fs.promises.rm(target, options),
    async open(target, flags) {
      const handle = await fs.promises.open(target, flags);
      return {
        sync: () => handle.sync(),
        close: () => handle.close(),
        write: (bytes, offset, length) => handle.write(bytes, offset, length),
        ...override(target, handle),
      };
    },
  };
}

// One entry of every value type, with edge values, and arrays of every item
// type including arrays of arrays and empty arrays.
const everyType: GgufMetadataEntry[] = [
  ggufEntry.string('general.architecture', 'llama'),
  ggufEntry.uint8('t.uint8', 255),
  ggufEntry.int8('t.int8', -128),
  ggufEntry.uint16('t.uint16', 65535),
  ggufEntry.int16('t.int16', -32768),
  ggufEntry.uint32('t.uint32', 4294967295),
  ggufEntry.int32('t.int32', -2147483648),
  ggufEntry.float32('t.float32', 1.5),
  ggufEntry.float64('t.float64', Math.PI),
  ggufEntry.bool('t.bool.true', true),
  ggufEntry.bool('t.bool.false', false),
  ggufEntry.string('t.string.unicode', 'héllo wörld ✓ 🦙'),
  ggufEntry.string('t.string.empty', ''),
  ggufEntry.uint64('t.uint64', 18446744073709551615n),
  ggufEntry.int64('t.int64', -9223372036854775808n),
  ggufEntry.array('t.array.uint8', GgufValueType.UINT8, [0, 1, 255]),
  ggufEntry.array('t.array.int8', GgufValueType.INT8, [-128, 0, 127]),
  ggufEntry.array('t.array.uint16', GgufValueType.UINT16, [0, 65535]),
  ggufEntry.array('t.array.int16', GgufValueType.INT16, [-32768, 32767]),
  ggufEntry.array('t.array.uint32', GgufValueType.UINT32, [0, 4294967295]),
  ggufEntry.array('t.array.int32', GgufValueType.INT32, [-1, 2147483647]),
  ggufEntry.array('t.array.float32', GgufValueType.FLOAT32, [0.25, -2, Infinity]),
  ggufEntry.array('t.array.float64', GgufValueType.FLOAT64, [1e-300, -0.5]),
  ggufEntry.array('t.array.bool', GgufValueType.BOOL, [true, false, true]),
  ggufEntry.array('t.array.string', GgufValueType.STRING, ['a', '', 'Ġthe', '日本語']),
  ggufEntry.array('t.array.uint64', GgufValueType.UINT64, [0n, 2n ** 64n - 1n]),
  ggufEntry.array('t.array.int64', GgufValueType.INT64, [-(2n ** 63n), 5n]),
  ggufEntry.array('t.array.empty', GgufValueType.INT32, []),
  ggufEntry.array('t.array.nested', GgufValueType.ARRAY, [
    ggufArray(GgufValueType.STRING, ['x', 'y']),
    ggufArray(GgufValueType.ARRAY, [ggufArray(GgufValueType.UINT8, [7])]),
    ggufArray(GgufValueType.FLOAT32, []),
  ]),
];

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('serializeGgufHeader and readGguf', () => {
  it('round-trips every metadata value type, arrays of arrays included', async () => {
    const tensors = layoutTensors([{ name: 'w', type: GgmlType.F32, dims: [3, 2] }]);
    const header = serializeGgufHeader({ metadata: everyType, tensors });
    const bytes = new Uint8Array(header.length + 32);
    bytes.set(header);
    const file = await readGguf(bufferSource(bytes));
    expect(file.version).toBe(3);
    expect(file.littleEndian).toBe(true);
    expect(file.metadata).toEqual(everyType);
    expect(file.tensors).toEqual([{ name: 'w', type: GgmlType.F32, dims: [3, 2], offset: 0, byteSize: 24 }]);
    expect(file.dataOffset).toBe(header.length);
    expect(file.dataOffset % 32).toBe(0);
    expect(getMetadata(file, 't.uint64')).toBe(18446744073709551615n);
    expect(getMetadata(file, 'missing.key')).toBeUndefined();
  });

  it('reads big-endian and version 2 files', async () => {
    const tensors = layoutTensors([{ name: 'w', type: GgmlType.F16, dims: [8] }]);
    for (const [version, littleEndian] of [
      [2, true],
      [3, false],
      [2, false],
    ] as const) {
      const header = serializeGgufHeader({ version, littleEndian, metadata: everyType, tensors });
      const bytes = new Uint8Array(header.length + 16);
      bytes.set(header);
      const file = await readGguf(bufferSource(bytes));
      expect(file.version).toBe(version);
      expect(file.littleEndian).toBe(littleEndian);
      expect(file.metadata).toEqual(everyType);
      expect(file.tensors[0].dims).toEqual([8]);
    }
  });

  it('re-serializes a parsed header to identical bytes', async () => {
    const tensors = layoutTensors([
      { name: 'a', type: GgmlType.Q8_0, dims: [64, 3] },
      { name: 'b', type: GgmlType.F32, dims: [5] },
    ]);
    const header = serializeGgufHeader({ littleEndian: false, metadata: everyType, tensors });
    const bytes = new Uint8Array(header.length + 256);
    bytes.set(header);
    const file = await readGguf(bufferSource(bytes));
    expect(
      serializeGgufHeader({
        version: file.version,
        littleEndian: file.littleEndian,
        metadata: file.metadata,
        tensors: file.tensors,
      }),
    ).toEqual(header);
  });

  it('rejects values that do not fit their declared type', () => {
    const tensors: never[] = [];
    for (const entry of [
      ggufEntry.uint8('k', 256),
      ggufEntry.int32('k', 1.5),
      { key: 'k', type: GgufValueType.STRING, value: 3 },
      { key: 'k', type: GgufValueType.UINT64, value: 3 },
      ggufEntry.uint64('k', -1n),
    ] as GgufMetadataEntry[]) {
      expect(() => serializeGgufHeader({ metadata: [entry], tensors })).toThrow(GgufError);
    }
    expect(() =>
      serializeGgufHeader({ metadata: [ggufEntry.uint8('k', 1), ggufEntry.uint8('k', 2)], tensors }),
    ).toThrow(/used twice/);
  });
});

describe('createGgufWriter', () => {
  const specs = [
    { name: 'token_embd.weight', type: GgmlType.F32, dims: [3, 2] },
    { name: 'output_norm.weight', type: GgmlType.F32, dims: [1] },
    { name: 'output.weight', type: GgmlType.F32, dims: [5] },
  ];
  const data = [f32Bytes([1, 2, 3, 4, 5, 6]), f32Bytes([0.5]), f32Bytes([7, 8, 9, 10, 11])];

  it('streams tensor data in arbitrary chunks and pads between tensors', async () => {
    const target = path.join(dir, 'chunks.gguf');
    const writer = await createGgufWriter(target, { metadata: everyType, tensors: specs });
    // 24, 4 and 20 bytes, each padded to 32.
    expect(writer.tensors.map((t) => t.offset)).toEqual([0, 32, 64]);
    const all = new Uint8Array([...data[0], ...data[1], ...data[2]]);
    for (let i = 0; i < all.length; i += 7) await writer.writeTensorData(all.subarray(i, i + 7));
    expect(fs.existsSync(target)).toBe(false);
    await writer.finish();
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const source = await fileSource(target);
    try {
      const file = await readGguf(source);
      expect(file.metadata).toEqual(everyType);
      expect(file.tensors).toEqual(writer.tensors);
      // gguf.cpp pads after every tensor, the last one included.
      expect(fs.statSync(target).size).toBe(file.dataOffset + 96);
      for (const [i, tensor] of file.tensors.entries())
        expect(await readTensorData(source, file, tensor)).toEqual(data[i]);
    } finally {
      await source.close?.();
    }
  });

  it('uses general.alignment, or adds it when an alignment option is given', async () => {
    const target = path.join(dir, 'aligned.gguf');
    const writer = await createGgufWriter(
      target,
      { metadata: [ggufEntry.string('general.architecture', 'llama')], tensors: specs },
      { alignment: 64 },
    );
    expect(writer.tensors.map((t) => t.offset)).toEqual([0, 64, 128]);
    for (const bytes of data) await writer.writeTensorData(bytes);
    await writer.finish();
    const file = await openGguf(target);
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(getMetadata(file, 'general.alignment')).toBe(64);
  });

  it('refuses to finish before every byte arrived, and leaves nothing behind', async () => {
    const target = path.join(dir, 'short.gguf');
    const writer = await createGgufWriter(target, { metadata: [], tensors: specs });
    await writer.writeTensorData(data[0]);
    await writer.writeTensorData(data[1]);
    await expect(writer.finish()).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      details: { tensor: 'output.weight', missing: 20 },
    });
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('.short'))).toEqual([]);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('refuses more data than the tensors hold', async () => {
    const writer = await createGgufWriter(path.join(dir, 'long.gguf'), {
      metadata: [],
      tensors: specs.slice(0, 1),
    });
    await expect(writer.writeTensorData(new Uint8Array(25))).rejects.toThrow(/more than the tensors hold/);
    await writer.abort();
  });

  it('abort removes the temp file and never touches an existing destination', async () => {
    const target = path.join(dir, 'existing.gguf');
    fs.writeFileSync(target, 'precious');
    const writer = await createGgufWriter(target, { metadata: [], tensors: specs });
    await writer.writeTensorData(data[0]);
    await writer.abort();
    await writer.abort();
    expect(fs.readFileSync(target, 'utf8')).toBe('precious');
    expect(fs.readdirSync(dir).filter((name) => name.includes('existing.gguf.'))).toEqual([]);
  });

  it('prepare leaves a complete, closed temp file for the caller to rename, and abort still removes it', async () => {
    const target = path.join(dir, 'prepared.gguf');
    const writer = await createGgufWriter(target, { metadata: [], tensors: specs });
    for (const bytes of data) await writer.writeTensorData(bytes);
    const temp = await writer.prepare();
    expect({ dir: path.dirname(temp), exists: fs.existsSync(target) }).toEqual({ dir, exists: false });
    expect((await openGguf(temp)).tensors).toEqual(writer.tensors);
    await expect(writer.finish()).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await writer.abort();
    expect(fs.existsSync(temp)).toBe(false);
  });

  it('with replace: false, leaves a file that appeared meanwhile, and says so', async () => {
    const content = { metadata: [], tensors: [{ name: 'w', type: GgmlType.F32, dims: [4] }] };
    const target = path.join(dir, 'appeared.gguf');
    const writer = await createGgufWriter(target, content, { replace: false });
    await writer.writeTensorData(new Uint8Array(16));
    fs.writeFileSync(target, 'theirs');
    await expect(writer.finish()).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
      category: 'usage',
      details: { path: target },
    });
    expect(fs.readFileSync(target, 'utf8')).toBe('theirs');
    expect(fs.readdirSync(dir).filter((name) => name.includes('appeared.gguf'))).toEqual(['appeared.gguf']);

    // With the default, the same write replaces it.
    const replacing = await createGgufWriter(target, content);
    await replacing.writeTensorData(new Uint8Array(16));
    await replacing.finish();
    expect((await readGguf(await fileSource(target))).tensors.map((t) => t.name)).toEqual(['w']);
  });

  it('with replace: false where hard links are refused, checks and renames instead', async () => {
    const noLinks: WriterFileSystem = {
      ...realFileSystem(() => ({})),
      link: () => Promise.reject(Object.assign(new Error('operation not permitted'), { code: 'EPERM' })),
    };
    const content = { metadata: [], tensors: [{ name: 'w', type: GgmlType.F32, dims: [4] }] };
    const target = path.join(dir, 'no-links.gguf');
    const writer = await createGgufWriter(target, content, { replace: false, fileSystem: noLinks });
    await writer.writeTensorData(new Uint8Array(16));
    await writer.finish();
    expect(fs.statSync(target).size).toBeGreaterThan(16);
    expect(fs.readdirSync(dir).filter((name) => name.includes('no-links.gguf'))).toEqual(['no-links.gguf']);

    const late = await createGgufWriter(target, content, { replace: false, fileSystem: noLinks });
    await late.writeTensorData(new Uint8Array(16));
    fs.writeFileSync(target, 'theirs');
    await expect(late.finish()).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(fs.readFileSync(target, 'utf8')).toBe('theirs');
  });

  it('on a full disk, fails with a typed environment error and leaves no file behind', async () => {
    // The real file system, except that writes fail with ENOSPC after 1000 bytes.
    let written = 0;
    const fullDisk = realFileSystem((target, handle) => ({
      async write(bytes, offset, length) {
        if (written + length > 1000)
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC', path: target });
        written += length;
        return handle.write(bytes, offset, length);
      },
    }));
    const target = path.join(dir, 'full.gguf');
    const writer = await createGgufWriter(
      target,
      { metadata: [], tensors: [{ name: 'w', type: GgmlType.F32, dims: [1024] }] },
      { fileSystem: fullDisk },
    );
    await expect(writer.writeTensorData(new Uint8Array(4096))).rejects.toMatchObject({
      code: 'WRITE_FAILED',
      category: 'environment',
    });
    expect(fs.readdirSync(dir).filter((name) => name.includes('full.gguf'))).toEqual([]);
    await expect(writer.finish()).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(fs.existsSync(target)).toBe(false);
  });

  it('flushes in the background every flushEveryBytes, and reports a failed flush at finish', async () => {
    const flushes: number[] = [];
    let written = 0;
    const flushing = (failAt: number) =>
      realFileSystem((target, handle) => ({
        async datasync() {
          flushes.push(written);
          if (flushes.length === failAt)
            throw Object.assign(new Error('input/output error'), { code: 'EIO', path: target });
        },
        async write(bytes, offset, length) {
          written += length;
          return handle.write(bytes, offset, length);
        },
      }));
    const content = { metadata: [], tensors: [{ name: 'w', type: GgmlType.F32, dims: [4096] }] };
    const target = path.join(dir, 'flushed.gguf');
    const writer = await createGgufWriter(target, content, {
      fileSystem: flushing(0),
      flushEveryBytes: 4096,
    });
    for (let i = 0; i < 4; i++) {
      await writer.writeTensorData(new Uint8Array(4096));
      // Let the (instant) background flush settle, as a slower stream would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writer.finish();
    expect(flushes.length).toBeGreaterThanOrEqual(3);
    expect(fs.statSync(target).size).toBeGreaterThan(16384);

    flushes.length = 0;
    const failing = path.join(dir, 'flush-failed.gguf');
    const broken = await createGgufWriter(failing, content, {
      fileSystem: flushing(1),
      flushEveryBytes: 4096,
    });
    await broken.writeTensorData(new Uint8Array(8192));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(
      (async () => {
        await broken.writeTensorData(new Uint8Array(8192));
        await broken.finish();
      })(),
    ).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(fs.readdirSync(dir).filter((name) => name.includes('flush-failed.gguf'))).toEqual([]);
  });

  it('reports a missing directory as a typed error', async () => {
    await expect(
      createGgufWriter(path.join(dir, 'no', 'such', 'x.gguf'), { metadata: [], tensors: [] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects conflicting alignment and bad tensor specs', async () => {
    await expect(
      createGgufWriter(
        path.join(dir, 'x.gguf'),
        { metadata: [ggufEntry.uint32('general.alignment', 32)], tensors: [] },
        { alignment: 64 },
      ),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(
      createGgufWriter(path.join(dir, 'x.gguf'), {
        metadata: [],
        tensors: [{ name: 'q', type: GgmlType.Q4_0, dims: [33] }],
      }),
    ).rejects.toMatchObject({
      code: 'BAD_DIMENSIONS',
    });
    await expect(
      createGgufWriter(path.join(dir, 'x.gguf'), {
        metadata: [],
        tensors: [{ name: 'x'.repeat(64), type: GgmlType.F32, dims: [1] }],
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('never writes what the reader refuses: empty keys, empty or NUL tensor names, zero dimensions', async () => {
    const target = path.join(dir, 'refused.gguf');
    const tensor = { name: 'w', type: GgmlType.F32, dims: [1] };
    for (const content of [
      { metadata: [ggufEntry.uint8('', 1)], tensors: [tensor] },
      { metadata: [], tensors: [{ ...tensor, name: '' }] },
      { metadata: [], tensors: [{ ...tensor, name: 'a\0b' }] },
      { metadata: [], tensors: [{ ...tensor, dims: [4, 0] }] },
    ]) {
      await expect(createGgufWriter(target, content)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    expect(fs.readdirSync(dir).filter((name) => name.includes('refused.gguf'))).toEqual([]);
  });
});
