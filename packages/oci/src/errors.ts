import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/oci, as a string-literal code. */
export type OciErrorCode =
  /** An image reference, repository name, tag or digest does not parse. */
  | 'INVALID_REFERENCE'
  /** The registry could not be reached, the connection broke or stalled, and retries ran out. */
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
  /** A repository, manifest, tag, blob or layout that was named does not exist. */
  | 'NOT_FOUND'
  /** Bytes do not hash to the digest that names them. */
  | 'DIGEST_MISMATCH'
  /** A blob's length differs from its descriptor. */
  | 'SIZE_MISMATCH'
  /** A manifest or index is not valid JSON of a known media type, or is too large. */
  | 'INVALID_MANIFEST'
  /** An OCI image layout is damaged: index.json unreadable, a blob it needs missing. */
  | 'CORRUPT_LAYOUT'
  /** A tag already points at other content, and moving it was not asked for. */
  | 'TAG_EXISTS'
  /** A directory to write into exists, is not empty and is not an OCI image layout. */
  | 'OUTPUT_EXISTS'
  /** The work was interrupted (AbortSignal). */
  | 'ABORTED';

const DEFAULT_CATEGORY: Record<OciErrorCode, ErrorCategory> = {
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
  CORRUPT_LAYOUT: 'input',
  TAG_EXISTS: 'usage',
  OUTPUT_EXISTS: 'usage',
  ABORTED: 'environment',
};

/**
 * The one error class of @alki/oci. The category follows from the code:
 * transport, auth and 5xx failures are 'network', digest and size mismatches
 * are 'check', and bad references, manifests and damaged layouts are 'input',
 * and so is a tag, manifest or repository that does not exist (the user
 * named it).
 */
export class OciError extends AlkiError<OciErrorCode> {
  constructor(code: OciErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? DEFAULT_CATEGORY[code] });
  }
}

/** Throws ABORTED when the signal has fired, so long loops stop between steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** The ABORTED error for a fired signal, with its reason as the cause. */
export function abortedError(signal: AbortSignal): OciError {
  return new OciError('ABORTED', 'The operation was interrupted.', { cause: signal.reason });
}
