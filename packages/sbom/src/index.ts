export { checkSbom } from './check-sbom.js';
export { createSbom, serializeSbom } from './create-sbom.js';
export { SbomError } from './errors.js';
export type { SbomErrorCode } from './errors.js';
export { resolveLicense } from './license.js';
export type { ResolvedLicense } from './license.js';
export type {
  SbomImatrix,
  SbomInput,
  SbomModelFile,
  SpdxChecksum,
  SpdxDocument,
  SpdxExtractedLicense,
  SpdxPackage,
  SpdxRelationship,
} from './types.js';
