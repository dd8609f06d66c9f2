import { createPublicKey, sign as signData, type KeyObject } from 'node:crypto';
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  FulcioSigner,
  RekorWitness,
  type Signer,
  type Witness,
} from '@sigstore/sign';
import { keyIdOf } from '../keys/key-pair.js';

/** How to sign: with a local key (offline), or keyless through Fulcio and Rekor. */
export type SigningMethod =
  | {
      kind: 'key';
      privateKey: KeyObject;
    }
  | {
      kind: 'keyless';
      /** The OIDC identity token (resolveIdentityToken). */
      identityToken: string;
      /** Default Sigstore's public-good instance. */
      fulcioUrl?: string;
      /** Default Sigstore's public-good instance. */
      rekorUrl?: string;
      /** Per request, in milliseconds; default 30 s. */
      timeoutMs?: number;
    };

/** Seconds a Fulcio or Rekor request may take before it is given up on. */
const DEFAULT_SERVICE_TIMEOUT_MS = 30_000;
/** Retries of a Fulcio or Rekor request that failed with a 5xx, 408 or 429. */
const SERVICE_RETRIES = 2;

export { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL };

/**
 * A Sigstore signer for a local ECDSA key: the bundle carries no key, only
 * its id as the `hint`, so verifiers must already hold the public key.
 */
function localKeySigner(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const hint = keyIdOf(publicKey);
  return {
    sign: (data: Buffer) =>
      Promise.resolve({
        // ECDSA over SHA-256 of the data, DER-encoded: what Sigstore and cosign expect.
        signature: signData('sha256', data, privateKey),
        key: { $case: 'publicKey', publicKey: publicKeyPem, hint },
      }),
  };
}

/** The signer and the witnesses (transparency logs) a method uses. */
export function signerFor(method: SigningMethod): { signer: Signer; witnesses: Witness[] } {
  if (method.kind === 'key') return { signer: localKeySigner(method.privateKey), witnesses: [] };
  const timeout = method.timeoutMs ?? DEFAULT_SERVICE_TIMEOUT_MS;
  const token = method.identityToken;
  return {
    signer: new FulcioSigner({
      fulcioBaseURL: method.fulcioUrl ?? DEFAULT_FULCIO_URL,
      identityProvider: { getToken: () => Promise.resolve(token) },
      timeout,
      retry: SERVICE_RETRIES,
    }),
    witnesses: [
      new RekorWitness({
        rekorBaseURL: method.rekorUrl ?? DEFAULT_REKOR_URL,
        timeout,
        retry: SERVICE_RETRIES,
      }),
    ],
  };
}
