import { ImageBuilderError } from '../errors.js';

/** One entry of a layer tar. Paths are relative to the image root, with `/` separators and no leading `/`. */
export type TarEntry =
  | { type: 'directory'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; size: number; content: TarFileContent }
  | { type: 'symlink'; path: string; target: string };

/** Where a file's bytes come from: memory, or a file on disk read at write time. */
export type TarFileContent =
  | { kind: 'buffer'; data: Buffer }
  /** `sha256` (hex), when given, is checked as the bytes stream into the layer, so a tampered file fails the build in the same pass. */
  | { kind: 'file'; path: string; sha256?: string };

export const TAR_BLOCK = 512;

// ustar caps the size field at 11 octal digits (8 GiB - 1); bigger files,
// which quantized 13B+ models are, need a PAX `size` record (POSIX.1-2001 pax format).
const USTAR_MAX_SIZE = 0o77777777777;

/**
 * Checks and normalises an entry path: relative, `/`-separated, no `.` or
 * `..` segments, no NUL. A hostile bundle file name must never place a file
 * outside the image root.
 */
export function normaliseTarPath(input: string): string {
  const trimmed = input.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (!trimmed || input.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ImageBuilderError(
      'INVALID_LAYER_ENTRY',
      `Refusing the layer path ${JSON.stringify(input)}: it is empty, or has '.', '..' or empty segments.`,
      {
        details: { path: input },
      },
    );
  }
  return trimmed;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length-1 digits, NUL-terminated, zero-padded: what GNU tar and Go's archive/tar write.
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

function paxRecord(key: string, value: string): string {
  // A record is "LEN key=value\n" where LEN counts the whole record, itself included.
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  // ustar allows a 155-byte prefix plus a 100-byte name, split at a `/`.
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest)
      return { prefix, name: rest };
  }
  return undefined;
}

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function ustarBlock(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK);
  const split = splitUstarName(fields.name) ?? { prefix: '', name: fields.name.slice(0, 100) };
  writeString(block, 0, 100, split.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid 0: images are reproducible and root-owned
  writeOctal(block, 116, 8, 0); // gid 0
  writeOctal(block, 124, 12, Math.min(fields.size, USTAR_MAX_SIZE));
  writeOctal(block, 136, 12, fields.mtime);
  block.write('        ', 148, 8, 'ascii'); // checksum is computed over spaces here
  block.write(fields.typeflag, 156, 1, 'ascii');
  writeString(block, 157, 100, fields.linkname);
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  writeString(block, 265, 32, 'root');
  writeString(block, 297, 32, 'root');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeString(block, 345, 155, split.prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/** Zero padding that brings `size` bytes up to a whole tar block. */
export function tarPadding(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest);
}

/**
 * Encodes the header blocks of one entry: a PAX extended header first when
 * the path, link target or size does not fit ustar, then the ustar header.
 * Owner is always 0:0 and the mtime is the one given, so equal inputs give
 * equal bytes.
 */
export function encodeTarHeader(entry: TarEntry, mtime: number): Buffer {
  const name = normaliseTarPath(entry.path) + (entry.type === 'directory' ? '/' : '');
  const size = entry.type === 'file' ? entry.size : 0;
  const linkname = entry.type === 'symlink' ? entry.target : '';
  const mode =
    entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'directory' ? 0o755 : 0o644));
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const pax: string[] = [];
  if (!splitUstarName(name)) pax.push(paxRecord('path', name));
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
  if (size > USTAR_MAX_SIZE) pax.push(paxRecord('size', String(size)));
  const header = ustarBlock({ name, mode, size, mtime, typeflag, linkname: linkname.slice(0, 100) });
  if (pax.length === 0) return header;
  const body = Buffer.from(pax.join(''), 'utf8');
  const paxName = `PaxHeaders/${name}`.slice(0, 100);
  const paxHeader = ustarBlock({
    name: paxName,
    mode: 0o644,
    size: body.length,
    mtime,
    typeflag: 'x',
    linkname: '',
  });
  return Buffer.concat([paxHeader, body, tarPadding(body.length), header]);
}

/** A file entry whose bytes are in memory. */
export function bufferEntry(entryPath: string, data: Buffer | string, mode = 0o644): TarEntry {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return {
    type: 'file',
    path: entryPath,
    mode,
    size: bytes.length,
    content: { kind: 'buffer', data: bytes },
  };
}
