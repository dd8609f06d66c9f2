import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/calibrate, as a string-literal code. */
export type CalibrateErrorCode =
  /** A flag or option is out of range or contradicts another (`--max-memory 0`, an unknown device). */
  | 'INVALID_OPTIONS'
  /** A file the user gave (a profile, a text, a model) is missing or not what it should be. */
  | 'INVALID_INPUT'
  /** The machine cannot do what was asked: no cgroup to write, a tool missing, not enough text. */
  | 'UNSUPPORTED_ENVIRONMENT'
  /** A benchmark or quality run failed: the tool exited badly, the model did not load. */
  | 'MEASUREMENT_FAILED'
  /** No quant, context and thread count meets every constraint. */
  | 'NO_CANDIDATE';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<CalibrateErrorCode, ErrorCategory> = {
  INVALID_OPTIONS: 'usage',
  INVALID_INPUT: 'input',
  UNSUPPORTED_ENVIRONMENT: 'environment',
  MEASUREMENT_FAILED: 'check',
  NO_CANDIDATE: 'check',
};

/** The one error class of @alki/calibrate. */
export class CalibrateError extends AlkiError<CalibrateErrorCode> {
  constructor(code: CalibrateErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
