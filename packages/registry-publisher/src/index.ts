export { RegistryPublisherError } from './errors.js';
export type { RegistryPublisherErrorCode } from './errors.js';
