export { RuntimeError } from './errors.js';
export type { RuntimeErrorCode } from './errors.js';
