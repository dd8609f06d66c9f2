import { MANIFEST_PATH, readBundle, SIGNATURES_DIR, verifyBundle, type BundleManifest } from '@alki/bundler';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignerError, throwIfAborted } from '../errors.js';
import { writeFileSafely } from '../io/write-file.js';
import { buildProvenance, type ProvenanceInput } from '../provenance/provenance.js';
import { identityClaims } from '../sign/identity-token.js';
import { signBlob, signStatement } from '../sign/sign-artifact.js';
import type { SigningMethod } from '../sign/signing-method.js';
import { keyIdOf } from '../keys/key-pair.js';
import { signatureFilePath, type SignerName } from './signature-files.js';

export interface SignBundleOptions {
  method: SigningMethod;
  /**
   * What the provenance needs beyond the manifest (versions, source digests);
   * `false` writes only the signature.
   */
  provenance: Omit<ProvenanceInput, 'manifest' | 'manifestSha256'> | false;
  /** Re-hash every file first and refuse a bundle that does not match its manifest (default true). */
  verify?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: { phase: 'verify' | 'sign'; done: number; total: number }) => void;
}

export interface SignBundleResult {
  dir: string;
  manifestSha256: string;
  signer: SignerName;
  /** The files written, relative to the bundle root. */
  files: { signature: string; provenance?: string };
  /** The Sigstore bundles written, as JSON (for attaching to a registry). */
  bundles: { signature: unknown; provenance?: unknown };
}

function signerName(method: SigningMethod): SignerName {
  if (method.kind === 'key') return { kind: 'key', keyId: keyIdOf(createPublicKey(method.privateKey)) };
  const claims = identityClaims(method.identityToken);
  return { kind: 'identity', subject: claims.subject, issuer: claims.issuer };
}

async function writeSigstoreBundle(dir: string, relative: string, json: unknown): Promise<void> {
  try {
    await writeFileSafely(path.join(dir, relative), `${JSON.stringify(json, null, 2)}\n`, { replace: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    throw new SignerError('WRITE_FAILED', `Cannot write ${relative} into the bundle (${code}).`, {
      hint: 'Check that the bundle directory is writable and the disk has room.',
      details: { file: relative, code },
    });
  }
}

/** The Sigstore bundles of one manifest: its signature, and its signed provenance unless asked not to. */
export interface SignedManifest {
  manifestSha256: string;
  signer: SignerName;
  signature: unknown;
  provenance?: unknown;
}

/**
 * Signs the bytes of a bundle's metadata/manifest.json (`manifest` is the
 * same, parsed): one message signature, and SLSA provenance in a DSSE
 * envelope. signBundle writes them into a bundle directory; signing a
 * published bundle attaches them as referrers.
 */
export async function signManifest(
  manifestBytes: Buffer,
  manifest: BundleManifest,
  options: Pick<SignBundleOptions, 'method' | 'provenance' | 'signal' | 'onProgress'>,
): Promise<SignedManifest> {
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  const signer = signerName(options.method);
  const steps = options.provenance === false ? 1 : 2;
  options.onProgress?.({ phase: 'sign', done: 0, total: steps });
  const signature = await signBlob(manifestBytes, options.method);
  options.onProgress?.({ phase: 'sign', done: 1, total: steps });
  let provenance: unknown;
  if (options.provenance !== false) {
    const statement = buildProvenance({ ...options.provenance, manifest, manifestSha256 });
    throwIfAborted(options.signal);
    provenance = await signStatement(statement, options.method);
    options.onProgress?.({ phase: 'sign', done: 2, total: steps });
  }
  throwIfAborted(options.signal);
  return { manifestSha256, signer, signature, ...(provenance === undefined ? {} : { provenance }) };
}

/**
 * Signs a bundle directory: one Sigstore message signature over
 * metadata/manifest.json (which holds every file's SHA-256), and SLSA
 * provenance in a signed DSSE envelope, both written under
 * metadata/signatures/. No existing byte of the bundle changes, so its
 * manifest digest and OCI digests stay the same. A bundle whose files do
 * not match its manifest is refused.
 *
 * @example
 * const key = loadPrivateKey(readFileSync('alki.key', 'utf8'), passphrase);
 * const result = await signBundle('./dist/tiny', { method: { kind: 'key', privateKey: key } });
 * console.log(result.files.signature);
 */
export async function signBundle(dir: string, options: SignBundleOptions): Promise<SignBundleResult> {
  const bundle = await readBundle(dir);
  const signer = signerName(options.method);
  if (options.verify ?? true) {
    const report = await verifyBundle(bundle.dir, {
      signal: options.signal,
      onProgress: (event) => options.onProgress?.({ phase: 'verify', done: event.done, total: event.total }),
    });
    if (!report.ok) {
      throw new SignerError(
        'VERIFICATION_FAILED',
        `${bundle.dir} does not match its manifest, so it is not signed: ${report.problems.map((p) => p.message).join(' ')}`,
        {
          category: 'input',
          hint: 'Repack the bundle with `alki pack`; `alki verify` lists the problems.',
          details: { problems: report.problems.map((p) => ({ path: p.path, kind: p.kind })) },
        },
      );
    }
  }
  throwIfAborted(options.signal);
  const manifestBytes = await readFile(path.join(bundle.dir, MANIFEST_PATH));
  const { manifestSha256, signature, provenance } = await signManifest(
    manifestBytes,
    bundle.manifest,
    options,
  );
  throwIfAborted(options.signal);
  await mkdir(path.join(bundle.dir, SIGNATURES_DIR), { recursive: true });
  const files: SignBundleResult['files'] = { signature: signatureFilePath('signature', signer) };
  await writeSigstoreBundle(bundle.dir, files.signature, signature);
  if (provenance !== undefined) {
    files.provenance = signatureFilePath('provenance', signer);
    await writeSigstoreBundle(bundle.dir, files.provenance, provenance);
  }
  return {
    dir: bundle.dir,
    manifestSha256,
    signer,
    files,
    bundles: { signature, ...(provenance === undefined ? {} : { provenance }) },
  };
}
