import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '@alki/testkit';
import { ImageBuilderError } from '../errors.js';
import { bufferEntry, type TarEntry } from './tar-header.js';
import { canonicalTarEntries, writeTar } from './write-tar.js';

async function tarBytes(entries: TarEntry[], mtime = 1_700_000_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of writeTar(entries, { mtime })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alki-tar-test-'));
}

describe('writeTar', () => {
  const longDir = `models/${'d'.repeat(120)}`;
  const veryLong = `${'x'.repeat(150)}/${'y'.repeat(150)}.gguf`;

  it('writes an archive that GNU tar extracts to the same files, modes and link targets', async () => {
    const tar = requireCommand('tar', 'the tar writer test');
    const dir = tempDir();
    const source = path.join(dir, 'weights.bin');
    fs.writeFileSync(source, Buffer.alloc(1000, 7));
    const archive = await tarBytes([
      bufferEntry('etc/motd', 'hello\n'),
      {
        type: 'file',
        path: `${longDir}/weights.bin`,
        mode: 0o600,
        size: 1000,
        content: { kind: 'file', path: source },
      },
      bufferEntry(veryLong, 'pax path\n'),
      { type: 'symlink', path: 'bin/server', target: '/app/llama-server' },
      bufferEntry('app/run', '#!/bin/true\n', 0o755),
    ]);
    fs.writeFileSync(path.join(dir, 'out.tar'), archive);
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    const result = spawnSync(tar, ['-xf', path.join(dir, 'out.tar'), '-C', root], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(fs.readFileSync(path.join(root, 'etc/motd'), 'utf8')).toBe('hello\n');
    expect(fs.readFileSync(path.join(root, longDir, 'weights.bin'))).toEqual(Buffer.alloc(1000, 7));
    expect(fs.statSync(path.join(root, longDir, 'weights.bin')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(root, veryLong), 'utf8')).toBe('pax path\n');
    expect(fs.readlinkSync(path.join(root, 'bin/server'))).toBe('/app/llama-server');
    expect(fs.statSync(path.join(root, 'app/run')).mode & 0o777).toBe(0o755);
    const listing = spawnSync(tar, ['--numeric-owner', '--full-time', '-tvf', path.join(dir, 'out.tar')], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    const lines = listing.stdout.trim().split('\n');
    expect(lines.every((line) => line.includes(' 0/0 '))).toBe(true);
    expect(lines.every((line) => line.includes('2023-11-14 22:13:20'))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives byte-identical archives for the same entries in any order', async () => {
    const a = await tarBytes([bufferEntry('b/two', '2'), bufferEntry('a/one', '1')]);
    const b = await tarBytes([bufferEntry('a/one', '1'), bufferEntry('b/two', '2')]);
    expect(a.equals(b)).toBe(true);
    expect(a.length % 512).toBe(0);
  });

  it('adds every parent directory and sorts entries by path', () => {
    const paths = canonicalTarEntries([
      bufferEntry('opt/alki/bundle/models/m.gguf', 'x'),
      bufferEntry('app/llama-server', 'y'),
    ]).map((e) => `${e.type}:${e.path}`);
    expect(paths).toEqual([
      'directory:app',
      'file:app/llama-server',
      'directory:opt',
      'directory:opt/alki',
      'directory:opt/alki/bundle',
      'directory:opt/alki/bundle/models',
      'file:opt/alki/bundle/models/m.gguf',
    ]);
  });

  it.each(['../etc/passwd', 'models/../../x', 'a//b', './a', ''])(
    'refuses the hostile or empty path %j',
    (bad) => {
      expect(() => canonicalTarEntries([bufferEntry(bad, 'x')])).toThrow(ImageBuilderError);
    },
  );

  it('refuses a file that is also the parent of another entry', () => {
    expect(() => canonicalTarEntries([bufferEntry('a', 'x'), bufferEntry('a/b', 'y')])).toThrow(
      /both a file and the parent/,
    );
  });

  it('fails when a file does not match the sha256 it is expected to have', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.gguf');
    fs.writeFileSync(file, 'tampered');
    const entry: TarEntry = {
      type: 'file',
      path: 'm.gguf',
      size: 8,
      content: { kind: 'file', path: file, sha256: 'a'.repeat(64) },
    };
    await expect(tarBytes([entry])).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY', category: 'check' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails when a file is shorter than its declared size', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.gguf');
    fs.writeFileSync(file, 'short');
    await expect(
      tarBytes([{ type: 'file', path: 'm.gguf', size: 100, content: { kind: 'file', path: file } }]),
    ).rejects.toThrow(/does not have the 100 bytes/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
