import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256Digest } from '../digest.js';
import { partialPathOf, writeResumableFile } from './resumable-write.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-resumable-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const blob = randomBytes(256 * 1024);
const expected = { digest: sha256Digest(blob), size: blob.length };

// A source that serves `bytes` from an offset in 16 KiB chunks and records each offset asked for.
function source(bytes: Buffer, options: { failAfter?: number } = {}) {
  const offsets: number[] = [];
  let sent = 0;
  // A function value, not a method, so `open` may be passed on its own.
  const open = async function* (offset: number) {
    offsets.push(offset);
    for (let at = offset; at < bytes.length; at += 16 * 1024) {
      if (options.failAfter !== undefined && sent >= options.failAfter) throw new Error('connection reset');
      const chunk = bytes.subarray(at, Math.min(bytes.length, at + 16 * 1024));
      sent += chunk.length;
      yield chunk;
    }
  };
  return { offsets, open };
}

describe('writeResumableFile', () => {
  it('keeps the bytes of a broken download and fetches only the rest at the next call', async () => {
    const file = path.join(dir, 'broken.bin');
    const first = source(blob, { failAfter: 100 * 1024 });
    await expect(writeResumableFile(first.open, expected, file, 'blob')).rejects.toThrow('connection reset');
    expect(fs.existsSync(file)).toBe(false);
    const kept = fs.statSync(partialPathOf(file)).size;
    expect(kept).toBe(112 * 1024);

    const second = source(blob);
    expect(await writeResumableFile(second.open, expected, file, 'blob')).toEqual({ resumedFrom: kept });
    expect(second.offsets).toEqual([kept]);
    expect(fs.readFileSync(file).equals(blob)).toBe(true);
    expect(fs.existsSync(partialPathOf(file))).toBe(false);
  });

  it('starts over once when the kept bytes are wrong (zeros a power cut left), and gets the blob right', async () => {
    const file = path.join(dir, 'zeros.bin');
    const damaged = Buffer.from(blob.subarray(0, 64 * 1024));
    damaged.fill(0, 60 * 1024);
    fs.writeFileSync(partialPathOf(file), damaged);
    const again = source(blob);
    expect(await writeResumableFile(again.open, expected, file, 'blob')).toEqual({ resumedFrom: 64 * 1024 });
    expect(again.offsets).toEqual([64 * 1024, 0]);
    expect(fs.readFileSync(file).equals(blob)).toBe(true);
  });

  it('discards a partial file longer than the blob', async () => {
    const file = path.join(dir, 'long.bin');
    fs.writeFileSync(partialPathOf(file), Buffer.concat([blob, Buffer.from('tail')]));
    const again = source(blob);
    expect(await writeResumableFile(again.open, expected, file, 'blob')).toEqual({ resumedFrom: 0 });
    expect(again.offsets).toEqual([0]);
    expect(fs.readFileSync(file).equals(blob)).toBe(true);
  });

  it('fails with DIGEST_MISMATCH on a wrong blob, writes no file, and keeps nothing to resume from', async () => {
    const file = path.join(dir, 'wrong.bin');
    const wrong = Buffer.from(blob);
    wrong[1000] ^= 0xff;
    await expect(writeResumableFile(source(wrong).open, expected, file, 'blob')).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.statSync(partialPathOf(file)).size).toBe(0);
  });

  it('asks for nothing when the partial file already holds every byte (a crash before the rename)', async () => {
    const file = path.join(dir, 'complete.bin');
    fs.writeFileSync(partialPathOf(file), blob);
    const again = source(blob);
    expect(await writeResumableFile(again.open, expected, file, 'blob')).toEqual({
      resumedFrom: blob.length,
    });
    expect(again.offsets).toEqual([]);
    expect(fs.readFileSync(file).equals(blob)).toBe(true);
  });

  it('keeps a finished file that hashes right, and replaces one of the same size that does not', async () => {
    const file = path.join(dir, 'finished.bin');
    fs.writeFileSync(file, blob);
    const untouched = source(blob);
    await writeResumableFile(untouched.open, expected, file, 'blob');
    expect(untouched.offsets).toEqual([]);
    const other = randomBytes(blob.length);
    fs.writeFileSync(file, other);
    const replaced = source(blob);
    await writeResumableFile(replaced.open, expected, file, 'blob');
    expect(replaced.offsets).toEqual([0]);
    expect(fs.readFileSync(file).equals(blob)).toBe(true);
  });
});
