import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/**
 * Every failure of @alki/registry-publisher itself, as a string-literal code.
 * Registry, layout and transfer failures underneath come from @alki/oci as
 * OciError.
 */
export type PublishErrorCode =
  /** A version tag (or a `--registry` value) that cannot be used as given. */
  | 'INVALID_REFERENCE'
  /** A version tag already points at other content, and force was not given. */
  | 'TAG_EXISTS'
  /** A bundle directory is not a publishable Alki bundle, or a pulled one does not parse. */
  | 'INVALID_BUNDLE'
  /** An artifact is not a model bundle, or names layer paths that are unsafe. */
  | 'INVALID_MANIFEST'
  /** A layer's digest or size differs from what the bundle's manifest.json says for its path. */
  | 'DIGEST_MISMATCH'
  /** The output directory exists and is not empty. */
  | 'OUTPUT_EXISTS';

const DEFAULT_CATEGORY: Record<PublishErrorCode, ErrorCategory> = {
  INVALID_REFERENCE: 'usage',
  TAG_EXISTS: 'usage',
  INVALID_BUNDLE: 'input',
  INVALID_MANIFEST: 'input',
  DIGEST_MISMATCH: 'check',
  OUTPUT_EXISTS: 'usage',
};

/** The one error class of @alki/registry-publisher: publishing and pulling bundles. */
export class PublishError extends AlkiError<PublishErrorCode> {
  constructor(code: PublishErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? DEFAULT_CATEGORY[code] });
  }
}
