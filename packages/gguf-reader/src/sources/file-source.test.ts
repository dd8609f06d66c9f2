import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { fileSource } from './file-source.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-file-source-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('fileSource', () => {
  it('reads only the bytes asked for, and fewer at the end of the file', async () => {
    const file = path.join(dir, 'bytes.bin');
    fs.writeFileSync(
      file,
      Uint8Array.from({ length: 100 }, (_, i) => i),
    );
    const source = await fileSource(file);
    try {
      expect(source.size).toBe(100);
      expect([...(await source.read(10, 3))]).toEqual([10, 11, 12]);
      expect([...(await source.read(98, 10))]).toEqual([98, 99]);
      expect((await source.read(200, 10)).length).toBe(0);
    } finally {
      await source.close?.();
    }
  });

  it('reports a missing file and a directory as typed input errors', async () => {
    await expect(fileSource(path.join(dir, 'missing.gguf'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      category: 'input',
      details: { path: path.join(dir, 'missing.gguf') },
    });
    await expect(fileSource(dir)).rejects.toMatchObject({ code: 'INVALID_INPUT', category: 'input' });
  });
});
