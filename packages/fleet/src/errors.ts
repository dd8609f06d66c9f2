import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/fleet, as a string-literal code. */
export type FleetErrorCode =
  /** The fleet file is not valid: YAML syntax, an unknown key, a duplicate device, a selector matching nothing. */
  | 'INVALID_FLEET'
  /** A bundle or image reference is not pinned by digest, or is not a reference at all. */
  | 'UNPINNED_REFERENCE'
  /** Options contradict each other or the fleet file (`--strategy ab` without `--bundle-b`). */
  | 'INVALID_OPTIONS'
  /** A hardware profile or device class the fleet file names cannot be used. */
  | 'INVALID_PROFILE'
  /** The output directory exists and `--force` was not given. */
  | 'OUTPUT_EXISTS'
  /** Prometheus could not be reached or refused a query. */
  | 'PROMETHEUS_FAILED'
  /** Prometheus holds no data for the experiment or cohort asked about. */
  | 'NO_DATA';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<FleetErrorCode, ErrorCategory> = {
  INVALID_FLEET: 'input',
  UNPINNED_REFERENCE: 'input',
  INVALID_OPTIONS: 'usage',
  INVALID_PROFILE: 'input',
  OUTPUT_EXISTS: 'usage',
  PROMETHEUS_FAILED: 'network',
  NO_DATA: 'input',
};

/** The one error class of @alki/fleet. */
export class FleetError extends AlkiError<FleetErrorCode> {
  constructor(code: FleetErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
