import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/image-builder, as a string-literal code. */
export type ImageBuilderErrorCode =
  /** A bundle directory is missing files or has an invalid manifest or runtime.json. */
  | 'INVALID_BUNDLE'
  /** A base image (OCI layout or registry) is missing, unreadable or not an image. */
  | 'INVALID_BASE'
  /** An image reference, tag or path that cannot be used as given. */
  | 'INVALID_REFERENCE'
  /** A tar entry that cannot be written (a path escaping the root, a file that changed while read). */
  | 'INVALID_LAYER_ENTRY'
  /** The destination exists and --force was not given. */
  | 'DESTINATION_EXISTS'
  /** A program the builder needs (ldd, cc, podman or docker) is missing or failed. */
  | 'TOOL_FAILED'
  /** A container ran but did not become healthy or did not answer a chat completion. */
  | 'IMAGE_TEST_FAILED'
  /** The two-stage runtime could not get or verify its bundle. */
  | 'RUNTIME_BUNDLE_FAILED'
  /** ALKI_TRUST_POLICY is not a readable, valid trust policy. */
  | 'INVALID_TRUST_POLICY'
  /** The runtime's bundle is not signed as its trust policy requires. */
  | 'RUNTIME_UNTRUSTED'
  /** A platform named twice, or one an image cannot be built or delivered for. */
  | 'INVALID_PLATFORM';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<ImageBuilderErrorCode, ErrorCategory> = {
  INVALID_BUNDLE: 'usage',
  INVALID_BASE: 'input',
  INVALID_REFERENCE: 'usage',
  INVALID_LAYER_ENTRY: 'input',
  DESTINATION_EXISTS: 'usage',
  TOOL_FAILED: 'environment',
  IMAGE_TEST_FAILED: 'check',
  RUNTIME_BUNDLE_FAILED: 'usage',
  INVALID_TRUST_POLICY: 'usage',
  RUNTIME_UNTRUSTED: 'check',
  INVALID_PLATFORM: 'usage',
};

/** The one error class of @alki/image-builder. */
export class ImageBuilderError extends AlkiError<ImageBuilderErrorCode> {
  constructor(code: ImageBuilderErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
