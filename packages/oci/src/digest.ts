import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { OciError } from './errors.js';

// Alki writes and accepts sha256 only (image-spec descriptor.md, "Digests":
// sha256 is the one algorithm every implementation must support).
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** True when `digest` is `sha256:` and 64 lower-case hex digits. */
export function isValidDigest(digest: string): boolean {
  return DIGEST.test(digest);
}

/**
 * The hex part of a sha256 digest, after checking its form: a digest read
 * from a manifest becomes a file name, so `../` must never get through.
 */
export function digestHex(digest: string): string {
  if (!DIGEST.test(digest))
    throw new OciError('INVALID_REFERENCE', `${JSON.stringify(digest)} is not a sha256 digest.`, {
      category: 'input',
      details: { digest },
    });
  return digest.slice('sha256:'.length);
}

/** The sha256 digest of bytes in memory, as `sha256:<hex>`. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Streams a file through sha256 and returns `sha256:<hex>` and its size. */
export async function sha256File(
  file: string,
  signal?: AbortSignal,
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  // 4 MiB reads: large enough that hashing, not syscalls, bounds a 1 GB file.
  for await (const chunk of fs.createReadStream(file, {
    highWaterMark: 4 << 20,
    signal,
  }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Hashes bytes as they pass, and checks length and digest at the end. Every
 * pulled blob goes through one, so a tampered or truncated blob is a
 * DIGEST_MISMATCH or SIZE_MISMATCH, never a silently wrong file.
 */
export class DigestVerifier {
  private readonly hash = createHash('sha256');
  private received = 0;

  constructor(
    private readonly expected: { digest: string; size?: number },
    private readonly what: string,
  ) {}

  update(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.expected.size !== undefined && this.received > this.expected.size) {
      throw new OciError(
        'SIZE_MISMATCH',
        `${this.what} is longer than its descriptor says (${this.expected.size} bytes).`,
        {
          details: { digest: this.expected.digest, expectedSize: this.expected.size },
        },
      );
    }
    this.hash.update(chunk);
  }

  /** Throws SIZE_MISMATCH or DIGEST_MISMATCH; returns the byte count otherwise. */
  finish(): number {
    if (this.expected.size !== undefined && this.received !== this.expected.size) {
      throw new OciError(
        'SIZE_MISMATCH',
        `${this.what} has ${this.received} bytes, but its descriptor says ${this.expected.size}.`,
        {
          details: {
            digest: this.expected.digest,
            expectedSize: this.expected.size,
            actualSize: this.received,
          },
        },
      );
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      throw new OciError(
        'DIGEST_MISMATCH',
        `${this.what} does not match its digest: expected ${this.expected.digest}, got ${actual}.`,
        {
          hint: 'The stored copy or the transfer corrupted it, and nothing was written from it. Publish it again from a good copy.',
          details: { expected: this.expected.digest, actual },
        },
      );
    }
    return this.received;
  }
}
