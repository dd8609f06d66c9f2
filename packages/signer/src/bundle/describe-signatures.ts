import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import type { ProvenanceStatement } from '../provenance/provenance.js';
import { isDsseBundle, readSignatureFiles, type SignatureFileKind } from './signature-files.js';

/** What a signature file says about itself, before anything is verified. */
export interface SignatureClaim {
  path: string;
  kind: SignatureFileKind;
  /** `key <id>` or the certificate subject; unverified. */
  claimedSigner: string;
  /** The provenance statement, for provenance files; unverified. */
  statement?: ProvenanceStatement;
  /** Why the file could not be read, when it could not. */
  problem?: string;
}

function claimOf(json: unknown): Pick<SignatureClaim, 'claimedSigner' | 'statement'> {
  const bundle = bundleFromJSON(json);
  const material = bundle.verificationMaterial.content;
  let claimedSigner: string;
  if (material.$case === 'publicKey')
    claimedSigner = `key ${material.publicKey.hint.slice(0, 16) || '(unnamed)'}`;
  else {
    const raw =
      material.$case === 'certificate'
        ? material.certificate.rawBytes
        : material.x509CertificateChain.certificates[0].rawBytes;
    claimedSigner =
      X509Certificate.parse(Buffer.from(raw)).subjectAltName ?? '(certificate without a subject)';
  }
  if (bundle.content.$case !== 'dsseEnvelope') return { claimedSigner };
  return {
    claimedSigner,
    statement: JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8')) as ProvenanceStatement,
  };
}

/**
 * Lists a bundle's signature files with who they claim to be from and, for
 * provenance, what the bundle claims to be built from. Nothing here is
 * verified: `alki inspect` shows it, `verifySignedBundle` decides.
 *
 * @example
 * for (const claim of await describeSignatures('./dist/tiny')) console.log(claim.kind, claim.claimedSigner);
 */
export async function describeSignatures(bundleDir: string): Promise<SignatureClaim[]> {
  const claims: SignatureClaim[] = [];
  for (const found of await readSignatureFiles(bundleDir)) {
    const kind: SignatureFileKind = isDsseBundle(found.json) ? 'provenance' : 'signature';
    if (found.problem !== undefined) {
      claims.push({ path: found.path, kind, claimedSigner: '(unreadable)', problem: found.problem });
      continue;
    }
    try {
      claims.push({ path: found.path, kind, ...claimOf(found.json) });
    } catch (error) {
      claims.push({
        path: found.path,
        kind,
        claimedSigner: '(unreadable)',
        problem: `not a Sigstore bundle: ${(error as Error).message}`,
      });
    }
  }
  return claims;
}
