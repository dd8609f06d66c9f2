import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { bundleFile } from './bundle-file.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bundle-file-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// A bundle-like tree: only the layout matters to the check, not the manifest.
function tree(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'models', 'm.gguf'), 'GGUF');
  return dir;
}

describe('bundleFile', () => {
  it("gives the path of a regular file of the bundle's own", async () => {
    const dir = tree('plain');
    expect(await bundleFile(dir, 'models/m.gguf')).toBe(path.join(dir, 'models', 'm.gguf'));
  });

  it('refuses a link, even to a file inside the bundle', async () => {
    const dir = tree('link');
    fs.symlinkSync(path.join(dir, 'models', 'm.gguf'), path.join(dir, 'models', 'l.gguf'));
    await expect(bundleFile(dir, 'models/l.gguf')).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      category: 'input',
      message:
        "models/l.gguf is a symbolic link; a bundle's files must be its own, so Alki does not follow it.",
    });
  });

  it('refuses a named pipe and a directory in place of a file, without opening them', async () => {
    const dir = tree('special');
    execFileSync('mkfifo', [path.join(dir, 'models', 'p.gguf')]);
    fs.mkdirSync(path.join(dir, 'models', 'd.gguf'));
    for (const file of ['models/p.gguf', 'models/d.gguf']) {
      await expect(bundleFile(dir, file)).rejects.toMatchObject({
        code: 'PATH_ESCAPE',
        message: expect.stringContaining(`${file} is not a regular file`),
      });
    }
  });

  it('refuses a file reached through a folder that links out of the bundle', async () => {
    const outside = tree('outside');
    const dir = path.join(work, 'folder-link');
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(outside, 'models'), path.join(dir, 'models'));
    await expect(bundleFile(dir, 'models/m.gguf')).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      message: 'models/m.gguf lies outside the bundle, through a linked folder.',
    });
  });

  it('says a listed file is missing', async () => {
    const dir = tree('missing');
    await expect(bundleFile(dir, 'models/gone.gguf')).rejects.toMatchObject({
      code: 'FILE_MISSING',
      category: 'input',
    });
  });
});
