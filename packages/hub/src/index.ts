export { HubError } from './errors.js';
export type { HubErrorCode } from './errors.js';
