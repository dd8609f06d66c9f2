export { PublishError } from './errors.js';
export type { PublishErrorCode } from './errors.js';
export {
  MODELPACK_ARTIFACT,
  MODELPACK_CONFIG,
  MODELPACK_DOC_RAW,
  MODELPACK_FILEPATH_ANNOTATION,
  MODELPACK_WEIGHT_CONFIG_RAW,
  MODELPACK_WEIGHT_RAW,
} from './bundle/media-types.js';
export { buildModelPackArtifact, layerMediaType, QUANT_ANNOTATION } from './bundle/modelpack.js';
export type {
  BundleFileDigest,
  ModelPackArtifact,
  ModelPackConfig,
  ModelPackInfo,
} from './bundle/modelpack.js';
export { publishBundle } from './bundle/publish.js';
export type { PublishOptions, PublishProgress, PublishResult, PublishedQuant } from './bundle/publish.js';
export { pullBundle, stagingPathOf } from './bundle/pull.js';
export type { PullOptions, PullProgress, PullResult } from './bundle/pull.js';
export { publishRepository } from './bundle/repository.js';
export { matchLayersToManifest, parsePublishedArtifact } from './bundle/published-artifact.js';
export type { PublishedArtifact, PublishedLayer } from './bundle/published-artifact.js';
export {
  attachSignature,
  fetchSignature,
  fetchSignatures,
  listSignatures,
  SIGNATURE_ARTIFACT_TYPE,
} from './bundle/signatures.js';
export type { AttachedSignature } from './bundle/signatures.js';
