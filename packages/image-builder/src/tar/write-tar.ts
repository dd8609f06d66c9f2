import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ImageBuilderError } from '../errors.js';
import { encodeTarHeader, normaliseTarPath, TAR_BLOCK, tarPadding, type TarEntry } from './tar-header.js';

/**
 * Puts entries in the canonical order that makes layers reproducible:
 * normalised paths, every parent directory present, sorted by path bytes,
 * and no path twice.
 */
export function canonicalTarEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    const entryPath = normaliseTarPath(entry.path);
    if (byPath.has(entryPath) && byPath.get(entryPath)?.type !== 'directory') {
      throw new ImageBuilderError('INVALID_LAYER_ENTRY', `The layer has two entries for ${entryPath}.`, {
        details: { path: entryPath },
      });
    }
    byPath.set(entryPath, { ...entry, path: entryPath });
    const segments = entryPath.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing && existing.type !== 'directory') {
        throw new ImageBuilderError(
          'INVALID_LAYER_ENTRY',
          `${parent} is both a file and the parent of ${entryPath}.`,
          { details: { path: parent } },
        );
      }
      if (!existing) byPath.set(parent, { type: 'directory', path: parent });
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

async function* fileBytes(
  entry: Extract<TarEntry, { type: 'file' }>,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  if (entry.content.kind === 'buffer') {
    if (entry.content.data.length !== entry.size) {
      throw new ImageBuilderError(
        'INVALID_LAYER_ENTRY',
        `${entry.path}: declared ${entry.size} bytes but has ${entry.content.data.length}.`,
        { category: 'internal' },
      );
    }
    yield entry.content.data;
    return;
  }
  const expected = entry.content.sha256;
  const hash = expected ? createHash('sha256') : undefined;
  let read = 0;
  for await (const chunk of fs.createReadStream(entry.content.path, { highWaterMark: 4 << 20, signal })) {
    read += (chunk as Buffer).length;
    if (read > entry.size) break;
    hash?.update(chunk as Buffer);
    yield chunk as Buffer;
  }
  if (read !== entry.size) {
    // A file whose size differs from what the header says (it changed while
    // read, or its manifest is wrong) would give a tar that lies; refuse.
    throw new ImageBuilderError(
      'INVALID_LAYER_ENTRY',
      `${entry.content.path} does not have the ${entry.size} bytes expected (it changed, or its manifest is wrong).`,
      {
        details: { path: entry.content.path, expected: entry.size },
        hint: 'Check the bundle with `alki verify`, and do not modify it while an image is being built.',
      },
    );
  }
  const actual = hash?.digest('hex');
  if (expected && actual !== expected) {
    throw new ImageBuilderError(
      'INVALID_LAYER_ENTRY',
      `${entry.content.path} does not match the sha256 its manifest records.`,
      {
        category: 'check',
        details: { path: entry.content.path, expected, actual },
        hint: 'The bundle was modified or corrupted; check it with `alki verify` and repack it.',
      },
    );
  }
}

/**
 * Streams a deterministic tar archive of the entries: canonical order, the
 * given mtime on every entry, owner 0:0, and two zero blocks at the end.
 *
 * @example
 * const chunks = [];
 * for await (const chunk of writeTar([{ type: 'file', path: 'a.txt', size: 2, content: { kind: 'buffer', data: Buffer.from('hi') } }], { mtime: 0 })) chunks.push(chunk);
 */
export async function* writeTar(
  entries: TarEntry[],
  options: { mtime: number; signal?: AbortSignal },
): AsyncGenerator<Buffer> {
  for (const entry of canonicalTarEntries(entries)) {
    options.signal?.throwIfAborted();
    yield encodeTarHeader(entry, options.mtime);
    if (entry.type === 'file') {
      yield* fileBytes(entry, options.signal);
      const padding = tarPadding(entry.size);
      if (padding.length) yield padding;
    }
  }
  yield Buffer.alloc(TAR_BLOCK * 2);
}
