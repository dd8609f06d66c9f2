import { isSignatureFile, SIGNATURES_DIR } from '@alki/bundler';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { shortKeyId } from '../policy/policy.js';

/** Bytes a signature file may have: a keyless bundle with its certificate and log entry is a few KiB. */
const MAX_SIGNATURE_BYTES = 1024 * 1024;

/** What a signature file holds: a signature of the manifest, or signed provenance. */
export type SignatureFileKind = 'signature' | 'provenance';

/** Who a signature file belongs to: a key id, or a certificate identity. */
export type SignerName =
  { kind: 'key'; keyId: string } | { kind: 'identity'; subject: string; issuer: string };

/**
 * The path of a signer's signature or provenance file, relative to the bundle
 * root: `metadata/signatures/manifest.key-<16 hex>.sigstore.json`, or
 * `id-<16 hex of the identity>` for keyless signers. One signer, one file of
 * each kind: signing again replaces it, another signer adds its own.
 */
export function signatureFilePath(kind: SignatureFileKind, signer: SignerName): string {
  const fingerprint =
    signer.kind === 'key'
      ? `key-${shortKeyId(signer.keyId)}`
      : `id-${createHash('sha256').update(`${signer.subject}\n${signer.issuer}`).digest('hex').slice(0, 16)}`;
  return `${SIGNATURES_DIR}/${kind === 'signature' ? 'manifest' : 'provenance'}.${fingerprint}.sigstore.json`;
}

/** A signature file found in a bundle. */
export interface FoundSignatureFile {
  /** Relative to the bundle root. */
  path: string;
  /** The parsed JSON, or undefined when the file is not JSON (reported by the verifier). */
  json: unknown;
  /** Why the file could not be read as JSON. */
  problem?: string;
}

/**
 * Every `metadata/signatures/*.sigstore.json` of a bundle, in name order.
 * Links, directories and oversized files are reported, never followed.
 */
export async function readSignatureFiles(bundleDir: string): Promise<FoundSignatureFile[]> {
  let names: string[];
  try {
    names = (await readdir(path.join(bundleDir, SIGNATURES_DIR))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: FoundSignatureFile[] = [];
  for (const name of names) {
    const relative = `${SIGNATURES_DIR}/${name}`;
    if (!isSignatureFile(relative)) continue;
    const absolute = path.join(bundleDir, relative);
    const info = await lstat(absolute);
    if (!info.isFile()) {
      found.push({
        path: relative,
        json: undefined,
        problem: 'it is not a regular file (a link or directory)',
      });
      continue;
    }
    if (info.size > MAX_SIGNATURE_BYTES) {
      found.push({
        path: relative,
        json: undefined,
        problem: `it has ${info.size} bytes, more than a signature can`,
      });
      continue;
    }
    try {
      found.push({ path: relative, json: JSON.parse(await readFile(absolute, 'utf8')) });
    } catch {
      found.push({ path: relative, json: undefined, problem: 'it is not valid JSON' });
    }
  }
  return found;
}

/** Whether a signature file's JSON holds a DSSE envelope (provenance) rather than a message signature. */
export function isDsseBundle(json: unknown): boolean {
  return json !== null && typeof json === 'object' && 'dsseEnvelope' in json;
}
