import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { createHash } from 'node:crypto';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';
import { IN_TOTO_PAYLOAD_TYPE } from '../format/media-types.js';
import { shortKeyId, type TrustPolicy } from '../policy/policy.js';
import { EMPTY_TRUSTED_ROOT, type TrustedRootSource } from './trusted-root.js';

/** Who made a signature, as far as it could be told. */
export type SignerInfo =
  { kind: 'key'; keyId: string; name?: string } | { kind: 'identity'; subject: string; issuer: string };

/** Why a signature does not count. */
export type SignatureFailure =
  /** Not a Sigstore bundle, or a bundle of the wrong kind. */
  | 'malformed'
  /** It signs other bytes than the manifest on disk. */
  | 'digest-mismatch'
  /** Made by a key the policy does not list. */
  | 'untrusted-key'
  /** Made by a certificate identity the policy does not list. */
  | 'untrusted-identity'
  /** The cryptography does not hold: signature, certificate chain or log entry. */
  | 'invalid-signature';

export type SignatureCheck =
  | { ok: true; signer: SignerInfo; payload?: unknown }
  | {
      ok: false;
      failure: SignatureFailure;
      message: string;
      signer?: SignerInfo;
      /** A trusted statement whose subjects no longer match: it tells which files changed. */
      payload?: unknown;
    };

/** What a signature was made over. */
export type SignedSubject =
  /** A message signature over these bytes (metadata/manifest.json). */
  | { kind: 'message'; data: Buffer }
  /** A DSSE in-toto statement that must list `name` with this sha256 among its subjects. */
  | { kind: 'statement'; name: string; sha256: string };

export interface VerifySignatureOptions {
  policy: TrustPolicy;
  /** Where the trusted root for certificate signatures comes from; only asked when one is met. */
  trustedRoot: TrustedRootSource;
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A signer in words: `key release-2025` or `ci@example.com (issuer https://accounts.example.com)`.
 *
 * @example
 * console.log(`signed by ${describeSigner(report.signers[0])}`);
 */
export function describeSigner(signer: SignerInfo): string {
  return signer.kind === 'key'
    ? `key ${signer.name ?? shortKeyId(signer.keyId)}`
    : `${signer.subject} (issuer ${signer.issuer})`;
}

function failure(kind: SignatureFailure, message: string, signer?: SignerInfo): SignatureCheck {
  return { ok: false, failure: kind, message, ...(signer ? { signer } : {}) };
}

function identityOf(signer: Signer): SignerInfo | undefined {
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  return subject && issuer ? { kind: 'identity', subject, issuer } : undefined;
}

function sigstoreMessage(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (${code})` : message;
}

// Key signatures carry the key's id as a hint, but any bytes can claim any
// hint: each trusted key is tried, and only the signature decides.
function verifyWithKeys(bundle: Bundle, subject: SignedSubject, policy: TrustPolicy): SignatureCheck {
  const entity = toSignedEntity(bundle, subject.kind === 'message' ? subject.data : undefined);
  for (const key of policy.keys) {
    const material = toTrustMaterial(EMPTY_TRUSTED_ROOT, () => ({
      publicKey: key.publicKey,
      validFor: () => true,
    }));
    // Offline key signatures have no log entry or timestamp to require.
    const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    try {
      verifier.verify(entity);
      return { ok: true, signer: { kind: 'key', keyId: key.keyId, name: key.name } };
    } catch {
      // Not this key; the next one may be it.
    }
  }
  const hint =
    bundle.verificationMaterial.content.$case === 'publicKey'
      ? bundle.verificationMaterial.content.publicKey.hint
      : '';
  const claimed: SignerInfo = { kind: 'key', keyId: hint };
  if (policy.keys.some((key) => key.keyId === hint)) {
    return failure(
      'invalid-signature',
      `the signature does not verify with the trusted ${describeSigner(claimed)} it names`,
      claimed,
    );
  }
  const trusted =
    policy.keys.length === 0
      ? 'the policy trusts no keys'
      : `the policy trusts ${policy.keys.map((k) => describeSigner({ kind: 'key', keyId: k.keyId, name: k.name })).join(', ')}`;
  return failure(
    'untrusted-key',
    `signed by ${hint ? `key ${shortKeyId(hint)}` : 'an unnamed key'}, which the policy does not trust (${trusted})`,
    hint ? claimed : undefined,
  );
}

async function verifyWithIdentities(
  bundle: Bundle,
  subject: SignedSubject,
  options: VerifySignatureOptions,
): Promise<SignatureCheck> {
  const entity = toSignedEntity(bundle, subject.kind === 'message' ? subject.data : undefined);
  const { policy } = options;
  if (policy.identities.length === 0) {
    const claimed = entity.key.$case === 'certificate' ? entity.key.certificate.subjectAltName : undefined;
    return failure(
      'untrusted-identity',
      `signed keyless${claimed ? ` by ${claimed}` : ''}, and the policy trusts no identities`,
    );
  }
  let signer: Signer;
  try {
    signer = new Verifier(toTrustMaterial(await options.trustedRoot())).verify(entity);
  } catch (error) {
    if ((error as { name?: string }).name === 'SignerError') throw error;
    return failure(
      'invalid-signature',
      `the keyless signature does not verify against the trusted root: ${sigstoreMessage(error)}`,
    );
  }
  const who = identityOf(signer);
  if (!who || who.kind !== 'identity')
    return failure('untrusted-identity', 'the certificate names no subject and issuer');
  const trusted = policy.identities.some(
    (identity) =>
      identity.issuer === who.issuer &&
      (identity.subject !== undefined
        ? identity.subject === who.subject
        : identity.subjectRegExp?.test(who.subject) === true),
  );
  if (!trusted)
    return failure(
      'untrusted-identity',
      `signed by ${describeSigner(who)}, which the policy does not trust`,
      who,
    );
  return { ok: true, signer: who };
}

interface StatementSubjects {
  subject?: Array<{ name?: string; digest?: { sha256?: string } }>;
}

function parseStatement(payload: Buffer): StatementSubjects | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies one Sigstore bundle (its JSON form) under a trust policy: the
 * signature must be over `subject` and made by a trusted key (offline) or a
 * trusted certificate identity (chain, transparency log and SCT checked
 * against the trusted root). The answer says who signed, or why it does not
 * count; it never throws for a bad signature.
 *
 * @example
 * const check = await verifySignature(json, { kind: 'message', data: manifestBytes }, { policy, trustedRoot });
 * if (!check.ok) console.error(check.message);
 */
export async function verifySignature(
  json: unknown,
  subject: SignedSubject,
  options: VerifySignatureOptions,
): Promise<SignatureCheck> {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (error) {
    return failure('malformed', `not a Sigstore bundle: ${sigstoreMessage(error)}`);
  }
  const content = bundle.content;
  if (subject.kind === 'message') {
    if (content.$case !== 'messageSignature')
      return failure('malformed', 'expected a message signature, found a DSSE envelope');
    const signed = Buffer.from(content.messageSignature.messageDigest?.digest ?? []).toString('hex');
    const actual = sha256Hex(subject.data);
    if (signed !== actual)
      return failure(
        'digest-mismatch',
        `it signs a manifest with SHA-256 ${signed}, and metadata/manifest.json now has ${actual}`,
      );
    return trustCheck(bundle, subject, options);
  }
  if (content.$case !== 'dsseEnvelope')
    return failure('malformed', 'expected a DSSE envelope, found a message signature');
  if (content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return failure(
      'malformed',
      `the envelope holds ${content.dsseEnvelope.payloadType}, not an in-toto statement`,
    );
  // The signer first: only a trusted statement may say which files changed.
  const check = await trustCheck(bundle, subject, options);
  if (!check.ok) return check;
  const statement = parseStatement(content.dsseEnvelope.payload);
  const entry = statement?.subject?.find((s) => s.name === subject.name);
  if (entry?.digest?.sha256 !== subject.sha256) {
    return {
      ...failure(
        'digest-mismatch',
        `its statement names ${subject.name} with SHA-256 ${entry?.digest?.sha256 ?? '(none)'}, and it now has ${subject.sha256}`,
        check.signer,
      ),
      ...(statement ? { payload: statement } : {}),
    };
  }
  return { ...check, payload: statement };
}

function trustCheck(
  bundle: Bundle,
  subject: SignedSubject,
  options: VerifySignatureOptions,
): Promise<SignatureCheck> {
  return bundle.verificationMaterial.content.$case === 'publicKey'
    ? Promise.resolve(verifyWithKeys(bundle, subject, options.policy))
    : verifyWithIdentities(bundle, subject, options);
}
