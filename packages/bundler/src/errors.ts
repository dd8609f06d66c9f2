import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/bundler, as a string-literal code. */
export type BundlerErrorCode =
  /** A pack option or source is not usable as given (unknown quant, bad name, bad glob). */
  | 'INVALID_INPUT'
  /** A source type needs a package that has not landed or is not installed (converter, quantizer). */
  | 'SOURCE_UNSUPPORTED'
  /** manifest.json or runtime.json is missing, is not JSON, or breaks its schema. */
  | 'INVALID_MANIFEST'
  /** An artifact or file entry points outside the bundle, at a link, or at something not a regular file. */
  | 'PATH_ESCAPE'
  /** A file the manifest lists is not in the bundle. */
  | 'FILE_MISSING'
  /** The directory is not a bundle at all. */
  | 'NOT_A_BUNDLE'
  /** The destination exists and --force was not given. */
  | 'DESTINATION_EXISTS'
  /** The bundle could not be written where it was asked for: disk full, read-only, permission denied. */
  | 'WRITE_FAILED'
  /** verifyBundle found tampered, missing or extra files. */
  | 'VERIFY_FAILED'
  /** The work was aborted through its AbortSignal; nothing was left half-written. */
  | 'ABORTED';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<BundlerErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'usage',
  SOURCE_UNSUPPORTED: 'input',
  INVALID_MANIFEST: 'input',
  PATH_ESCAPE: 'input',
  FILE_MISSING: 'input',
  NOT_A_BUNDLE: 'input',
  DESTINATION_EXISTS: 'usage',
  WRITE_FAILED: 'input',
  VERIFY_FAILED: 'input',
  ABORTED: 'environment',
};

/** The one error class of @alki/bundler. */
export class BundlerError extends AlkiError<BundlerErrorCode> {
  constructor(code: BundlerErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
