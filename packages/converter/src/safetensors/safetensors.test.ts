import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { encodeSafetensorsHeader, writeSafetensors } from './writer.js';
import { MAX_SAFETENSORS_HEADER_BYTES, parseSafetensorsHeader } from './header.js';
import { readSafetensorsHeader } from './reader.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-safetensors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function headerBytes(header: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(header));
}

function fileWith(name: string, header: unknown, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return file;
}

describe('safetensors', () => {
  it('writes a file whose header reads back with contiguous offsets, 8-byte padding and metadata', async () => {
    const file = path.join(dir, 'round.safetensors');
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    await writeSafetensors(
      file,
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: new Uint8Array(a.buffer) },
        { name: 'b', dtype: 'BF16', shape: [3], data: () => new Uint8Array(6) },
      ],
      { metadata: { format: 'pt' } },
    );
    const header = await readSafetensorsHeader(file);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.dataOffset % 8).toBe(0);
    expect(
      header.tensors.map((t) => [t.name, t.dtype, t.shape, t.offset - header.dataOffset, t.byteLength]),
    ).toEqual([
      ['a', 'F32', [2, 3], 0, 24],
      ['b', 'BF16', [3], 24, 6],
    ]);
    const bytes = fs.readFileSync(file);
    expect(
      new Float32Array(
        bytes.buffer.slice(bytes.byteOffset + header.dataOffset, bytes.byteOffset + header.dataOffset + 24),
      ),
    ).toEqual(a);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves no file behind when a tensor has the wrong number of bytes', async () => {
    const file = path.join(dir, 'wrong.safetensors');
    await expect(
      writeSafetensors(file, [{ name: 'a', dtype: 'F16', shape: [4], data: new Uint8Array(6) }]),
    ).rejects.toThrow('need 8');
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('wrong'))).toEqual([]);
  });

  it.each([
    [
      'a gap between tensors',
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      'contiguous',
    ],
    [
      'overlapping tensors',
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      },
      'contiguous',
    ],
    [
      'a shape that disagrees with the byte range',
      { a: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } },
      'needs 6 bytes',
    ],
    ['an unknown dtype', { a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 'unknown dtype'],
    ['a negative dimension', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 'invalid shape'],
    ['reversed offsets', { a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 'invalid data_offsets'],
    ['metadata that is not a string map', { __metadata__: { n: 1 } }, '__metadata__'],
  ])('refuses a header with %s', (_what, header, message) => {
    expect(() => parseSafetensorsHeader(headerBytes(header))).toThrow(message);
  });

  it('refuses JSON that is not an object, and bytes that are not UTF-8', () => {
    expect(() => parseSafetensorsHeader(headerBytes([1, 2]))).toThrow('not a JSON object');
    expect(() => parseSafetensorsHeader(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow('not valid UTF-8 JSON');
  });

  it('refuses a truncated file, a padded file and a header length beyond the limit', async () => {
    const header = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
    await expect(readSafetensorsHeader(fileWith('short.safetensors', header, 12))).rejects.toMatchObject({
      code: 'BAD_SAFETENSORS',
    });
    await expect(readSafetensorsHeader(fileWith('long.safetensors', header, 20))).rejects.toThrow(
      'truncated or padded',
    );
    const huge = path.join(dir, 'huge.safetensors');
    const prefix = Buffer.alloc(16);
    prefix.writeBigUInt64LE(BigInt(MAX_SAFETENSORS_HEADER_BYTES + 1));
    fs.writeFileSync(huge, prefix);
    await expect(readSafetensorsHeader(huge)).rejects.toThrow('limit');
    const claims = path.join(dir, 'claims.safetensors');
    prefix.writeBigUInt64LE(1000n);
    fs.writeFileSync(claims, prefix);
    await expect(readSafetensorsHeader(claims)).rejects.toThrow('has only 16');
  });

  it('encodes the header with tensors laid out in the given order', () => {
    const bytes = encodeSafetensorsHeader([
      { name: 'x', dtype: 'F16', shape: [2, 2] },
      { name: 'y', dtype: 'I64', shape: [1] },
    ]);
    const parsed = parseSafetensorsHeader(bytes.subarray(8));
    expect(parsed.tensors.map((t) => [t.name, t.offset - parsed.dataOffset])).toEqual([
      ['x', 0],
      ['y', 8],
    ]);
  });
});
