export { ImageBuilderError } from './errors.js';
export type { ImageBuilderErrorCode } from './errors.js';
