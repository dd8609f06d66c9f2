import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/sbom, as a string-literal code. */
export type SbomErrorCode =
  /** The input to createSbom cannot make a valid document (no models, a bad hash). */
  | 'INVALID_INPUT'
  /** A document read back is not the SPDX 2.3 shape Alki writes, or disagrees with the bundle. */
  | 'INVALID_SBOM';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<SbomErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'input',
  INVALID_SBOM: 'input',
};

/** The one error class of @alki/sbom. */
export class SbomError extends AlkiError<SbomErrorCode> {
  constructor(code: SbomErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
