export { QuantizerError } from './errors.js';
export type { QuantizerErrorCode } from './errors.js';
