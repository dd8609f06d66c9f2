export { GgufReaderError } from './errors.js';
export type { GgufReaderErrorCode } from './errors.js';
