import { ImageBuilderError } from '../errors.js';

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/**
 * The hex part of a sha256 digest, after checking its form: a digest read
 * from a manifest becomes a file name, so `../` must never get through.
 */
export function digestHex(digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) {
    throw new ImageBuilderError('CORRUPT_LAYOUT', `${JSON.stringify(digest)} is not a sha256 digest.`, {
      details: { digest },
    });
  }
  return digest.slice('sha256:'.length);
}
