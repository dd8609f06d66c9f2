export { ConverterError } from './errors.js';
export type { ConverterErrorCode } from './errors.js';
