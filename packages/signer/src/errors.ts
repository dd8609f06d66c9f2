import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/signer, as a string-literal code. */
export type SignerErrorCode =
  /** An option cannot be used as given (no key and no --keyless, two sources for one thing). */
  | 'INVALID_INPUT'
  /** A key file is not a PEM key Alki can use (ECDSA P-256, SPKI or encrypted PKCS#8). */
  | 'INVALID_KEY'
  /** The passphrase does not decrypt the private key. */
  | 'WRONG_PASSPHRASE'
  /** No passphrase was given where one is needed (no variable set, no terminal to ask on). */
  | 'PASSPHRASE_MISSING'
  /** keygen would overwrite an existing key file. */
  | 'KEY_EXISTS'
  /** A trust policy is not JSON or breaks its schema. */
  | 'INVALID_POLICY'
  /** No OIDC identity token could be found for keyless signing. */
  | 'IDENTITY_TOKEN_MISSING'
  /** The identity token is not a JWT with a subject. */
  | 'INVALID_IDENTITY_TOKEN'
  /** Fulcio or Rekor refused or could not be reached. */
  | 'SIGNING_SERVICE_FAILED'
  /** A Sigstore trusted root could not be read or fetched. */
  | 'TRUSTED_ROOT_UNAVAILABLE'
  /** A signature file is not a Sigstore bundle. */
  | 'INVALID_SIGNATURE_FILE'
  /** Verification under a trust policy failed (missing, untrusted or broken signatures, tampered files). */
  | 'VERIFICATION_FAILED'
  /** A signature or key could not be written: disk full, read-only, permission denied. */
  | 'WRITE_FAILED'
  /** The work was aborted through its AbortSignal; nothing was left half-written. */
  | 'ABORTED';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<SignerErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'usage',
  INVALID_KEY: 'input',
  WRONG_PASSPHRASE: 'input',
  PASSPHRASE_MISSING: 'usage',
  KEY_EXISTS: 'usage',
  INVALID_POLICY: 'input',
  IDENTITY_TOKEN_MISSING: 'usage',
  INVALID_IDENTITY_TOKEN: 'input',
  SIGNING_SERVICE_FAILED: 'network',
  TRUSTED_ROOT_UNAVAILABLE: 'network',
  INVALID_SIGNATURE_FILE: 'check',
  VERIFICATION_FAILED: 'check',
  WRITE_FAILED: 'environment',
  ABORTED: 'environment',
};

/** The one error class of @alki/signer. */
export class SignerError extends AlkiError<SignerErrorCode> {
  constructor(code: SignerErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new SignerError('ABORTED', 'The operation was interrupted; nothing was left half-written.');
  }
}
