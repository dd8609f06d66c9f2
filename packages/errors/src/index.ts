export { AlkiError, isAlkiError } from './alki-error.js';
export type { AlkiErrorOptions, ErrorCategory } from './alki-error.js';
export { causeChain, describeCause, describeSystemError } from './system-errors.js';
