export { RegistryError } from './errors.js';
export type { RegistryErrorCode } from './errors.js';
export { parseReference, formatReference, isValidTag, isValidDigest } from './reference.js';
export type { ImageReference } from './reference.js';
export { sha256Digest, sha256File } from './digest.js';
export {
  OCI_MANIFEST,
  OCI_INDEX,
  OCI_EMPTY,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_MEDIA_TYPES,
  MODELPACK_ARTIFACT,
  MODELPACK_CONFIG,
  MODELPACK_WEIGHT_RAW,
  MODELPACK_WEIGHT_CONFIG_RAW,
  MODELPACK_DOC_RAW,
  MODELPACK_FILEPATH_ANNOTATION,
} from './media-types.js';
export { RegistryClient, referrersTag } from './registry/client.js';
export type {
  Descriptor,
  FetchedManifest,
  PushBlobOptions,
  PushBlobResult,
  RegistryClientOptions,
} from './registry/client.js';
export { fileBlob, bytesBlob } from './registry/blob-source.js';
export type { BlobSource } from './registry/blob-source.js';
export { findCredentials } from './registry/credentials.js';
export type { Credentials, CredentialLookupOptions, HelperRunner } from './registry/credentials.js';
export type { RetryPolicy, Sleep } from './registry/retry.js';
export { buildModelPackArtifact, layerMediaType, QUANT_ANNOTATION } from './bundle/modelpack.js';
export type { BundleFileDigest, ModelPackArtifact, ModelPackInfo } from './bundle/modelpack.js';
export { publishBundle } from './bundle/publish.js';
export type { PublishOptions, PublishProgress, PublishResult, PublishedQuant } from './bundle/publish.js';
export { pullBundle } from './bundle/pull.js';
export type { PullOptions, PullProgress, PullResult } from './bundle/pull.js';
export type { ArtifactStore, TransferOptions } from './store/artifact-store.js';
export { registryStore } from './store/registry-store.js';
export { layoutStore } from './store/layout-store.js';
export { connectRegistry } from './registry/connect.js';
export type { ConnectOptions } from './registry/connect.js';
export { openArtifactStore, publishRepository } from './store/open-store.js';
export type { OpenedStore } from './store/open-store.js';
