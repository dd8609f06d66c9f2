export { SbomError } from './errors.js';
export type { SbomErrorCode } from './errors.js';
