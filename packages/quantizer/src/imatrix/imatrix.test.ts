import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { BUILT_IN_CALIBRATION_TEXT } from './compute-imatrix.js';
import { convertImatrix, parseImatrix, serializeImatrix } from './imatrix.js';
import { importanceVectors } from './importance.js';

const run = promisify(execFile);
let dir: string;
let llamaImatrix: string;
let model: string;
let gguf: Buffer;
let dat: Buffer;

// llama-imatrix's own files: GGUF and legacy .dat, over four chunks of the built-in text.
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-imatrix-'));
  llamaImatrix = (await nativeTools()).paths['llama-imatrix'];
  model = path.join(dir, 'model.gguf');
  await writeSizedLlamaGguf(model, { embedding: 256, feedForward: 512, layers: 2, seed: 21 });
  const common = ['-m', model, '-f', BUILT_IN_CALIBRATION_TEXT, '-c', '128', '--chunks', '4', '-t', '2'];
  await run(llamaImatrix, [...common, '-o', path.join(dir, 'ref.gguf')]);
  await run(llamaImatrix, [...common, '-o', path.join(dir, 'ref.dat'), '--output-format', 'dat']);
  gguf = fs.readFileSync(path.join(dir, 'ref.gguf'));
  dat = fs.readFileSync(path.join(dir, 'ref.dat'));
}, 900_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('importance matrix files', () => {
  it('reads llama-imatrix GGUF files and writes them back byte for byte', async () => {
    const imatrix = await parseImatrix(gguf);
    expect(imatrix).toMatchObject({ format: 'gguf', chunkCount: 4, chunkSize: 128 });
    expect(imatrix.datasets).toEqual([BUILT_IN_CALIBRATION_TEXT]);
    // Seven weight matrices per layer (llama-imatrix leaves output.weight out unless --process-output).
    expect(imatrix.entries.size).toBe(2 * 7);
    expect(imatrix.entries.get('blk.0.attn_q.weight')!.sums).toHaveLength(256);
    expect(imatrix.entries.get('blk.0.ffn_down.weight')!.sums).toHaveLength(512);
    expect(imatrix.entries.get('blk.0.attn_q.weight')!.counts[0]).toBe(4 * 128);
    expect(same(serializeImatrix(imatrix), gguf)).toBe(true);
  });

  it('reads legacy .dat files and writes them back byte for byte', async () => {
    const imatrix = await parseImatrix(dat);
    expect(imatrix).toMatchObject({ format: 'legacy', chunkCount: 4, datasets: [BUILT_IN_CALIBRATION_TEXT] });
    expect(same(serializeImatrix(imatrix), dat)).toBe(true);
  });

  it('converts between the formats as llama-imatrix does when it loads one and saves the other', async () => {
    // Combining one input file with no text makes llama-imatrix load and save it (chunks of 512 by default).
    const resave = (from: string, to: string, ...flags: string[]) =>
      run(llamaImatrix, ['-m', model, '--in-file', path.join(dir, from), '-o', path.join(dir, to), ...flags]);
    await resave('ref.gguf', 'conv.dat', '--output-format', 'dat');
    await resave('ref.dat', 'conv.gguf');
    const fromGguf = serializeImatrix(convertImatrix(await parseImatrix(gguf), 'legacy'));
    const fromDat = serializeImatrix(convertImatrix(await parseImatrix(dat), 'gguf'));
    expect(same(fromGguf, fs.readFileSync(path.join(dir, 'conv.dat')))).toBe(true);
    expect(same(fromDat, fs.readFileSync(path.join(dir, 'conv.gguf')))).toBe(true);
  });

  it('gives the same importance vectors from both formats of one run (sums over counts, means over calls)', async () => {
    const fromGguf = importanceVectors(await parseImatrix(gguf));
    const fromDat = importanceVectors(await parseImatrix(dat));
    const a = fromGguf.get('blk.1.ffn_up.weight')!;
    const b = fromDat.get('blk.1.ffn_up.weight')!;
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 1e-6);
    expect(a.every((v) => v > 0)).toBe(true);
  });

  it('keeps only the entries --include-weights names, and drops those --exclude-weights names', async () => {
    const imatrix = await parseImatrix(gguf);
    expect([...importanceVectors(imatrix, { includeWeights: ['attn_v', 'attn_output'] }).keys()]).toEqual([
      'blk.0.attn_output.weight',
      'blk.0.attn_v.weight',
      'blk.1.attn_output.weight',
      'blk.1.attn_v.weight',
    ]);
    const excluded = importanceVectors(imatrix, { excludeWeights: ['ffn_'] });
    expect(excluded.size).toBe(imatrix.entries.size - 2 * 3);
    expect([...excluded.keys()].some((name) => name.includes('ffn_'))).toBe(false);
  });
});

describe('damaged importance matrix files', () => {
  const int32 = (...values: number[]) => Buffer.from(new Int32Array(values).buffer);

  it.each([
    ['an empty file', () => Buffer.alloc(0)],
    ['a GGUF cut short inside its tensor data', () => gguf.subarray(0, gguf.length - 100)],
    ['a GGUF cut short inside its header', () => gguf.subarray(0, 200)],
    ['a legacy file cut short inside its values', () => dat.subarray(0, 200)],
    ['a legacy file with no entries', () => int32(0)],
    ['a legacy entry with a negative name length', () => int32(1, -5, 0, 0)],
    ['a legacy entry with a name longer than the file', () => int32(1, 1 << 30)],
    ['a legacy entry with no values', () => Buffer.concat([int32(1, 1), Buffer.from('a'), int32(1, 0)])],
  ])('refuses %s with IMATRIX_INVALID', async (_what, bytes) => {
    await expect(parseImatrix(bytes())).rejects.toMatchObject({ code: 'IMATRIX_INVALID', category: 'input' });
  });

  it('refuses a GGUF imatrix without the imatrix.* keys llama-quantize requires', async () => {
    const imatrix = await parseImatrix(gguf);
    const bytes = Buffer.from(serializeImatrix(imatrix));
    // Rename the key in place (same length), as a file written by another tool might lack it.
    const at = bytes.indexOf('imatrix.chunk_size');
    bytes.write('imatrix.chunk_sizX', at);
    await expect(parseImatrix(bytes)).rejects.toMatchObject({
      code: 'IMATRIX_INVALID',
      message: expect.stringContaining('imatrix.chunk_size'),
    });
  });
});
