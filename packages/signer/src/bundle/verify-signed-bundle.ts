import { BundlerError, MANIFEST_PATH, verifyBundle, type VerifyReport } from '@alki/bundler';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrustPolicy } from '../policy/policy.js';
import type { ProvenanceStatement } from '../provenance/provenance.js';
import { publicGoodTrustedRoot, parseTrustedRoot, type TrustedRootSource } from '../verify/trusted-root.js';
import {
  verifySignature,
  type SignatureCheck,
  type SignatureFailure,
  type SignerInfo,
} from '../verify/verify-signature.js';
import {
  isDsseBundle,
  readSignatureFiles,
  type FoundSignatureFile,
  type SignatureFileKind,
} from './signature-files.js';

/** Why a bundle is refused under a policy. */
export type TrustFailureKind =
  | SignatureFailure
  /** No signature file at all, and the policy requires one. */
  | 'unsigned'
  /** A file no longer matches the manifest (or the manifest no longer matches what was signed). */
  | 'file-changed'
  /** No provenance by a trusted signer, and the policy requires it. */
  | 'no-provenance';

export interface TrustFailure {
  kind: TrustFailureKind;
  /** The file concerned, relative to the bundle root. */
  path?: string;
  /** One sentence for people, naming the file. */
  message: string;
}

export interface SignatureReport {
  path: string;
  kind: SignatureFileKind;
  check: SignatureCheck;
}

export interface TrustReport {
  dir: string;
  /** The manifest's name and version, when it could be read. */
  name?: string;
  version?: string;
  /** True when the bundle may run under the policy. */
  ok: boolean;
  manifestSha256: string;
  /** The file check of @alki/bundler's verifyBundle; absent when the manifest or runtime could not be read. */
  files?: VerifyReport;
  signatures: SignatureReport[];
  /** Trusted signers of the manifest. */
  signers: SignerInfo[];
  /** The provenance statement of a trusted signer, when there is one. */
  provenance?: ProvenanceStatement;
  failures: TrustFailure[];
  /** Signatures that do not count but do not fail the bundle (an extra, untrusted co-signature). */
  warnings: string[];
}

export interface VerifyTrustOptions {
  /** The trusted root for keyless signatures; default the policy's, else public good through TUF. */
  trustedRoot?: TrustedRootSource;
  /** Where @sigstore/tuf caches the public-good root. */
  tufCachePath?: string;
  signal?: AbortSignal;
  onProgress?: (event: { done: number; total: number; file: string }) => void;
}

// When the manifest itself changed, a trusted provenance statement still
// holds every file's signed digest: compare, and name what changed.
function changedSinceStatement(statement: unknown, manifestFiles: Map<string, string>): TrustFailure[] {
  const subjects =
    (statement as { subject?: Array<{ name?: string; digest?: { sha256?: string } }> }).subject ?? [];
  const failures: TrustFailure[] = [];
  for (const subject of subjects) {
    if (!subject.name || subject.name === MANIFEST_PATH) continue;
    const now = manifestFiles.get(subject.name);
    if (now === undefined)
      failures.push({
        kind: 'file-changed',
        path: subject.name,
        message: `${subject.name} was removed from the manifest after signing.`,
      });
    else if (now !== subject.digest?.sha256)
      failures.push({
        kind: 'file-changed',
        path: subject.name,
        message: `${subject.name} changed after signing: signed SHA-256 ${subject.digest?.sha256 ?? '(none)'}, now ${now}.`,
      });
  }
  const signedNames = new Set(subjects.map((s) => s.name));
  for (const name of manifestFiles.keys())
    if (!signedNames.has(name))
      failures.push({
        kind: 'file-changed',
        path: name,
        message: `${name} was added to the manifest after signing.`,
      });
  return failures;
}

/**
 * Verifies a bundle directory under a trust policy: every file against the
 * manifest (verifyBundle), then each signature in metadata/signatures/
 * against the manifest's digest and the policy's keys and identities. The
 * report says who signed and, for each failure, what failed and which file:
 * no signature, an untrusted key or identity, a manifest that changed after
 * signing, a file that changed after signing.
 *
 * @example
 * const report = await verifySignedBundle('./dist/tiny', await loadTrustPolicy('policy.json'));
 * for (const failure of report.failures) console.error(failure.message);
 */
export async function verifySignedBundle(
  dir: string,
  policy: TrustPolicy,
  options: VerifyTrustOptions = {},
): Promise<TrustReport> {
  const root = path.resolve(dir);
  const failures: TrustFailure[] = [];
  let files: VerifyReport | undefined;
  try {
    files = await verifyBundle(root, { signal: options.signal, onProgress: options.onProgress });
    failures.push(
      ...files.problems.map((problem) => ({
        kind: 'file-changed' as const,
        path: problem.path,
        message: problem.message,
      })),
    );
  } catch (error) {
    // A manifest or runtime.json that no longer parses is a changed file
    // too: say which, and let the signatures say whether it was signed so.
    const file = error instanceof BundlerError ? error.details.file : undefined;
    if (typeof file !== 'string' || (error as BundlerError).code === 'NOT_A_BUNDLE') throw error;
    failures.push({ kind: 'file-changed', path: file, message: `${(error as BundlerError).message}` });
  }
  const manifestBytes = await readFile(path.join(root, MANIFEST_PATH));
  const judged = await judgeSignatures(manifestBytes, await readSignatureFiles(root), policy, {
    ...options,
    manifestFiles: files ? new Map(files.checked.map((c) => [c.path, c.sha256])) : undefined,
  });
  const all = uniqueFailures([...failures, ...judged.failures]);
  return {
    dir: root,
    ok: all.length === 0,
    manifestSha256: judged.manifestSha256,
    ...(files ? { files, name: files.name, version: files.version } : {}),
    signatures: judged.signatures,
    signers: judged.signers,
    ...(judged.provenance ? { provenance: judged.provenance } : {}),
    failures: all,
    warnings: judged.warnings,
  };
}

function uniqueFailures(failures: TrustFailure[]): TrustFailure[] {
  return failures.filter(
    (failure, index) =>
      failures.findIndex(
        (f) => f.kind === failure.kind && f.path === failure.path && f.message === failure.message,
      ) === index,
  );
}

/** What the signatures of one manifest say under a policy (the part of a TrustReport that is not the file check). */
export interface SignatureVerdict {
  manifestSha256: string;
  signatures: SignatureReport[];
  signers: SignerInfo[];
  provenance?: ProvenanceStatement;
  failures: TrustFailure[];
  warnings: string[];
}

/**
 * Judges signature files found for a manifest (in a bundle directory, or
 * attached in a registry) under a policy: each is verified against the
 * manifest's bytes, and the failures are those of verifySignedBundle (a
 * manifest changed after signing always fails; an untrusted co-signature
 * is only a warning beside a trusted one). `manifestFiles` (path to sha256)
 * lets a trusted provenance statement name the files that changed.
 */
export async function judgeSignatures(
  manifestBytes: Buffer,
  found: FoundSignatureFile[],
  policy: TrustPolicy,
  options: VerifyTrustOptions & { manifestFiles?: Map<string, string> } = {},
): Promise<SignatureVerdict> {
  const failures: TrustFailure[] = [];
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  const trustedRoot =
    options.trustedRoot ??
    (policy.trustedRoot !== undefined
      ? () => Promise.resolve(parseTrustedRoot(policy.trustedRoot))
      : publicGoodTrustedRoot(options.tufCachePath));

  const warnings: string[] = [];
  const signatures: SignatureReport[] = [];
  for (const entry of found) {
    const kind: SignatureFileKind = isDsseBundle(entry.json) ? 'provenance' : 'signature';
    const check: SignatureCheck =
      entry.problem !== undefined
        ? { ok: false, failure: 'malformed', message: entry.problem }
        : await verifySignature(
            entry.json,
            kind === 'signature'
              ? { kind: 'message', data: manifestBytes }
              : { kind: 'statement', name: MANIFEST_PATH, sha256: manifestSha256 },
            { policy, trustedRoot },
          );
    signatures.push({ path: entry.path, kind, check });
  }

  const trustedSignatures = signatures.filter((s) => s.kind === 'signature' && s.check.ok);
  const signers = trustedSignatures.map((s) => (s.check as { signer: SignerInfo }).signer);
  const trustedProvenance = signatures.find((s) => s.kind === 'provenance' && s.check.ok);
  const manifestFiles = options.manifestFiles;
  let signatureFailed = false;

  for (const signature of signatures) {
    const { check } = signature;
    if (check.ok) continue;
    const line = `${signature.path}: ${check.message}.`;
    if (check.failure === 'digest-mismatch') {
      // The manifest changed after signing: always a failure, whatever the policy allows.
      failures.push({
        kind: 'digest-mismatch',
        path: MANIFEST_PATH,
        message: `${MANIFEST_PATH} changed after signing (${line})`,
      });
      if (check.payload !== undefined && manifestFiles)
        failures.push(...changedSinceStatement(check.payload, manifestFiles));
    } else if (policy.requireSignature && trustedSignatures.length === 0) {
      failures.push({ kind: check.failure, path: signature.path, message: line });
      signatureFailed = true;
    } else {
      warnings.push(line);
    }
  }
  if (policy.requireSignature && signatures.length === 0) {
    failures.push({
      kind: 'unsigned',
      message: `The bundle is not signed (no metadata/signatures/*.sigstore.json), and the policy requires a signature.`,
    });
  } else if (policy.requireSignature && trustedSignatures.length === 0 && !signatureFailed) {
    failures.push({
      kind: 'unsigned',
      message: 'No signature of metadata/manifest.json is by a trusted key or identity.',
    });
  }
  if (policy.requireProvenance && !trustedProvenance) {
    failures.push({
      kind: 'no-provenance',
      message:
        'The bundle has no provenance signed by a trusted key or identity, and the policy requires it.',
    });
  }
  return {
    manifestSha256,
    signatures,
    signers,
    ...(trustedProvenance
      ? { provenance: (trustedProvenance.check as { payload?: unknown }).payload as ProvenanceStatement }
      : {}),
    failures,
    warnings,
  };
}
