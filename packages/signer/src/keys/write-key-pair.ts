import { lstat } from 'node:fs/promises';
import { SignerError } from '../errors.js';
import { writeFileSafely } from '../io/write-file.js';
import type { KeyPairPem } from './key-pair.js';

export interface WrittenKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

function writeFailure(file: string, error: unknown): SignerError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
  return new SignerError('WRITE_FAILED', `Cannot write ${file} (${code}).`, {
    hint: 'Pick a writable directory with --out.',
    details: { file, code },
  });
}

/**
 * Writes `<prefix>.key` (mode 0600) and `<prefix>.pub`. Existing files are
 * never overwritten unless `force`: losing a private key loses the ability to
 * sign as that key.
 *
 * @example
 * const written = await writeKeyPair('./keys/alki', generateKeyPair(passphrase));
 * console.log(written.publicKeyPath);
 */
export async function writeKeyPair(
  prefix: string,
  pair: KeyPairPem,
  options: { force?: boolean } = {},
): Promise<WrittenKeyPair> {
  const privateKeyPath = `${prefix}.key`;
  const publicKeyPath = `${prefix}.pub`;
  if (!options.force) {
    for (const file of [privateKeyPath, publicKeyPath]) {
      if (await exists(file)) {
        throw new SignerError('KEY_EXISTS', `${file} already exists; it is not overwritten.`, {
          hint: 'Choose another --out prefix, or add --force to replace the key pair.',
          details: { file },
        });
      }
    }
  }
  for (const [file, data, mode] of [
    [privateKeyPath, pair.privateKeyPem, 0o600],
    [publicKeyPath, pair.publicKeyPem, 0o644],
  ] as const) {
    try {
      await writeFileSafely(file, data, { mode, replace: options.force });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new SignerError('KEY_EXISTS', `${file} appeared while the key pair was being written.`, {
          details: { file },
        });
      }
      throw writeFailure(file, error);
    }
  }
  return { privateKeyPath, publicKeyPath, keyId: pair.keyId };
}
