export { ImageBuilderError } from './errors.js';
export type { ImageBuilderErrorCode } from './errors.js';
export { writeTar, canonicalTarEntries } from './tar/write-tar.js';
export { bufferEntry } from './tar/tar-header.js';
export type { TarEntry, TarFileContent } from './tar/tar-header.js';
