export { BundlerError } from './errors.js';
export type { BundlerErrorCode } from './errors.js';
