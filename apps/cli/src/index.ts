export { main } from './main.js';
export { EXIT_CODES } from './exit-codes.js';
