import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/registry-publisher, as a string-literal code. */
export type RegistryErrorCode =
  /** An image reference or repository name does not parse. */
  | 'INVALID_REFERENCE'
  /** The registry could not be reached, or the connection broke and retries ran out. */
  | 'UNREACHABLE'
  /** The endpoint does not speak the OCI distribution API v2. */
  | 'UNSUPPORTED_REGISTRY'
  /** The registry asked for credentials and we had none. */
  | 'AUTH_REQUIRED'
  /** The registry or token server refused the credentials we sent. */
  | 'AUTH_FAILED'
  /** A credential helper (`docker-credential-*`) or the Docker config failed. */
  | 'CREDENTIALS_UNAVAILABLE'
  /** The registry answered with an unexpected status (4xx other than auth, 5xx after retries). */
  | 'REGISTRY_ERROR'
  /** A manifest, tag or blob does not exist. */
  | 'NOT_FOUND'
  /** A blob's or manifest's bytes do not hash to the digest that names them. */
  | 'DIGEST_MISMATCH'
  /** A blob's length differs from its descriptor. */
  | 'SIZE_MISMATCH'
  /** A manifest or index is not valid JSON of a known media type. */
  | 'INVALID_MANIFEST'
  /** A tag already points at other content, and --force was not given. */
  | 'TAG_EXISTS'
  /** A bundle directory is not a publishable Alki bundle. */
  | 'INVALID_BUNDLE'
  /** The output directory exists and is not empty. */
  | 'OUTPUT_EXISTS'
  /** The work was interrupted (AbortSignal). */
  | 'ABORTED';

const DEFAULT_CATEGORY: Record<RegistryErrorCode, ErrorCategory> = {
  INVALID_REFERENCE: 'input',
  UNREACHABLE: 'network',
  UNSUPPORTED_REGISTRY: 'network',
  AUTH_REQUIRED: 'network',
  AUTH_FAILED: 'network',
  CREDENTIALS_UNAVAILABLE: 'environment',
  REGISTRY_ERROR: 'network',
  NOT_FOUND: 'input',
  DIGEST_MISMATCH: 'check',
  SIZE_MISMATCH: 'check',
  INVALID_MANIFEST: 'input',
  TAG_EXISTS: 'usage',
  INVALID_BUNDLE: 'input',
  OUTPUT_EXISTS: 'usage',
  ABORTED: 'environment',
};

/**
 * The one error class of @alki/registry-publisher. The category follows from
 * the code: transport, auth and 5xx failures are 'network', digest and size
 * mismatches are 'check', bad references and manifests are 'input', and so is
 * a tag, manifest or repository that does not exist (the user named it, as
 * with a hub repo that does not exist).
 */
export class RegistryError extends AlkiError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? DEFAULT_CATEGORY[code] });
  }
}

/** Throws ABORTED when the signal has fired, so long loops stop between steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new RegistryError('ABORTED', 'The operation was interrupted.', { cause: signal.reason });
}
