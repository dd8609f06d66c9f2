import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resolveModelTarget } from './model-target.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-model-target-'));
const at = (name: string) => path.join(dir, name);
let socket: net.Server;

beforeAll(async () => {
  fs.writeFileSync(at('model.gguf'), 'GGUF');
  fs.mkdirSync(at('bundle'));
  fs.symlinkSync(at('model.gguf'), at('link.gguf'));
  fs.symlinkSync(at('gone.gguf'), at('dangling.gguf'));
  fs.symlinkSync(at('loop-b.gguf'), at('loop-a.gguf'));
  fs.symlinkSync(at('loop-a.gguf'), at('loop-b.gguf'));
  execFileSync('mkfifo', [at('pipe.gguf')]);
  socket = net.createServer();
  await new Promise<void>((resolve) => socket.listen(at('socket.gguf'), resolve));
});

afterAll(async () => {
  await new Promise((resolve) => socket.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('resolveModelTarget', () => {
  it('names an existing file, a directory, a file through a link, a URL and org/name', async () => {
    expect(await resolveModelTarget(at('model.gguf'))).toEqual({ kind: 'file', path: at('model.gguf') });
    expect(await resolveModelTarget(at('link.gguf'))).toEqual({ kind: 'file', path: at('link.gguf') });
    expect(await resolveModelTarget(at('bundle'))).toEqual({ kind: 'directory', path: at('bundle') });
    expect(await resolveModelTarget('https://example.com/m.gguf')).toEqual({
      kind: 'url',
      url: 'https://example.com/m.gguf',
    });
    expect(await resolveModelTarget('Qwen/Qwen3-0.6B-GGUF')).toEqual({
      kind: 'hub',
      repo: 'Qwen/Qwen3-0.6B-GGUF',
    });
  });

  it.each([
    ['pipe.gguf', 'a named pipe (FIFO)'],
    ['socket.gguf', 'a socket'],
  ])('refuses %s, which is %s, without opening it', async (name, what) => {
    await expect(resolveModelTarget(at(name))).rejects.toMatchObject({
      code: 'NOT_A_REGULAR_FILE',
      category: 'input',
      message: `${at(name)} is ${what}, not a regular file; Alki reads models only from regular files.`,
    });
  });

  it('refuses a character device', async () => {
    await expect(resolveModelTarget('/dev/null')).rejects.toMatchObject({
      code: 'NOT_A_REGULAR_FILE',
      message: expect.stringContaining('/dev/null is a character device'),
    });
  });

  it('says a dangling link and a looping link for what they are', async () => {
    await expect(resolveModelTarget(at('dangling.gguf'))).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      message: `${at('dangling.gguf')} is a symbolic link to a file that does not exist.`,
    });
    await expect(resolveModelTarget(at('loop-a.gguf'))).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      message: `${at('loop-a.gguf')} is a symbolic link that loops back on itself.`,
    });
  });

  it.each(['dir/model.gguf', './org/name', 'a/b/c', '/abs/path'])(
    'takes a missing %s for a local path, never a hub repo',
    async (target) => {
      await expect(resolveModelTarget(target)).rejects.toMatchObject({
        code: 'TARGET_NOT_FOUND',
        category: 'input',
        message: `${target} does not exist.`,
      });
    },
  );

  it('refuses a bare name that is neither on disk nor org/name', async () => {
    await expect(resolveModelTarget('tiny')).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      message: 'tiny is neither an existing file or directory nor a hub repo id (org/name).',
    });
  });

  it('refuses a kind the command does not take, naming the kinds it does', async () => {
    await expect(
      resolveModelTarget('https://example.com/m.gguf', { accept: ['file', 'directory'] }),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED_TARGET',
      message:
        'https://example.com/m.gguf is an http(s) URL; this command takes a .gguf file or a directory.',
    });
  });
});
