import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceDirectory, writeFileAtomic } from './atomic.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-atomic-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('replaceDirectory', () => {
  it('puts the new directory in place of the old one and leaves nothing beside it', async () => {
    const destination = path.join(work, 'out');
    const next = path.join(work, 'next');
    fs.mkdirSync(destination);
    fs.writeFileSync(path.join(destination, 'old.txt'), 'old');
    fs.mkdirSync(next);
    fs.writeFileSync(path.join(next, 'new.txt'), 'new');
    await replaceDirectory(next, destination);
    expect(fs.readdirSync(destination)).toEqual(['new.txt']);
    expect(fs.readdirSync(work).sort()).toEqual(['out']);
  });

  it('renames the old directory back when the new one cannot be moved in', async () => {
    const destination = path.join(work, 'kept');
    fs.mkdirSync(destination);
    fs.writeFileSync(path.join(destination, 'keep.txt'), 'mine');
    await expect(replaceDirectory(path.join(work, 'never-written'), destination)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(fs.readFileSync(path.join(destination, 'keep.txt'), 'utf8')).toBe('mine');
    expect(fs.readdirSync(work).filter((name) => name.startsWith('.kept'))).toEqual([]);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temp file', async () => {
    const file = path.join(work, 'index.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, 'second');
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(fs.readdirSync(work).filter((name) => name.includes('.partial'))).toEqual([]);
  });
});
