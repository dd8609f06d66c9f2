import { structuralError } from './errors.js';
import { MAX_STRING_BYTES } from './limits.js';
import type { ByteSource } from './types.js';
import { asBuffer, decodeUtf8 } from './utf8.js';

// The first read is small so that a remote header costs one short request;
// later reads double up to 1 MiB. The cap bounds how far a read can run past
// the header into tensor data (never more than 1 MiB), which matters for
// remote files; 1 MiB reads cost nothing measurable on local ones.
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
const TWO_TO_32 = 2 ** 32;
// The high word of a 64-bit count that still fits a JS number exactly.
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/**
 * A forward-only window over a ByteSource. Parsing code checks `available`
 * and calls `fill` only when the window runs dry, so the hot loops stay
 * synchronous.
 */
export class Cursor {
  bytes: Buffer = Buffer.alloc(0);
  view: DataView = new DataView(this.bytes.buffer);
  /** Index of the next unread byte in `bytes`. */
  pos = 0;
  littleEndian = true;
  /** Absolute source offset of bytes[0]. */
  private base = 0;
  private chunk = FIRST_CHUNK;

  constructor(
    private readonly source: ByteSource,
    readonly size: number | undefined,
  ) {}

  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.bytes.length - this.pos;
  }

  /** Bytes left in the source after the cursor, or Infinity when the size is unknown. */
  get remaining(): number {
    return this.size === undefined ? Infinity : this.size - this.offset;
  }

  /** Makes at least `n` bytes available, or throws TRUNCATED naming `what`. */
  async fill(n: number, what: string): Promise<void> {
    if (n <= this.available) return;
    if (n > this.remaining)
      throw structuralError('TRUNCATED', this.offset, `The file ends inside ${what}`, { needed: n });
    const kept = this.bytes.subarray(this.pos);
    const readAt = this.base + this.bytes.length;
    let toRead = Math.max(n - kept.length, this.chunk);
    if (this.size !== undefined) toRead = Math.min(toRead, this.size - readAt);
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
    const fresh = await this.source.read(readAt, toRead);
    let combined: Buffer;
    if (kept.length === 0) combined = asBuffer(fresh);
    else {
      combined = Buffer.allocUnsafe(kept.length + fresh.length);
      combined.set(kept, 0);
      combined.set(fresh, kept.length);
    }
    this.base += this.pos;
    this.pos = 0;
    this.bytes = combined;
    this.view = new DataView(combined.buffer, combined.byteOffset, combined.byteLength);
    if (combined.length < n)
      throw structuralError('TRUNCATED', this.offset + combined.length, `The file ends inside ${what}`, {
        needed: n,
      });
  }

  u8(): number {
    return this.bytes[this.pos++];
  }

  u32(): number {
    const value = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return value;
  }

  /** A 64-bit count, length or offset as a JS number; larger than 2^53 is an error. */
  count(what: string): number {
    const at = this.offset;
    const first = this.view.getUint32(this.pos, this.littleEndian);
    const second = this.view.getUint32(this.pos + 4, this.littleEndian);
    const [low, high] = this.littleEndian ? [first, second] : [second, first];
    this.pos += 8;
    if (high > MAX_SAFE_HIGH_WORD)
      throw structuralError(
        'COUNT_TOO_LARGE',
        at,
        `${what} is impossibly large (${(BigInt(high) << 32n) | BigInt(low)})`,
      );
    return high * TWO_TO_32 + low;
  }

  /** Reads a GGUF string (u64 length + UTF-8 bytes). */
  async string(what: string): Promise<string> {
    if (this.available < 8) await this.fill(8, what);
    const at = this.offset;
    const length = this.count(`The length of ${what}`);
    this.checkStringLength(length, at, what);
    if (this.available < length) await this.fill(length, what);
    return this.decode(length, at, what);
  }

  checkStringLength(length: number, at: number, what: string): void {
    if (length > this.remaining || length > MAX_STRING_BYTES) {
      const limit =
        length > this.remaining
          ? 'larger than the rest of the file'
          : `over the limit of ${MAX_STRING_BYTES}`;
      throw structuralError('COUNT_TOO_LARGE', at, `The length of ${what} (${length} bytes) is ${limit}`, {
        length,
      });
    }
  }

  /** Decodes `length` available bytes as UTF-8; `at` is where the string's length field began. */
  decode(length: number, at: number, what: string): string {
    const text = decodeUtf8(this.bytes, this.pos, this.pos + length);
    if (text === undefined) throw structuralError('INVALID_UTF8', at, `${what} is not valid UTF-8`);
    this.pos += length;
    return text;
  }

  /** Moves forward to `offset` (used for padding). */
  async skipTo(offset: number, what: string): Promise<void> {
    const n = offset - this.offset;
    if (n <= 0) return;
    if (this.available < n) await this.fill(n, what);
    this.pos += n;
  }
}
