export { OciError, throwIfAborted } from './errors.js';
export type { OciErrorCode } from './errors.js';
export {
  ANNOTATION_CREATED,
  ANNOTATION_LICENSES,
  ANNOTATION_REF_NAME,
  ANNOTATION_TITLE,
  ANNOTATION_VERSION,
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndexMediaType,
  MANIFEST_MEDIA_TYPES,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from './media-types.js';
export { MAX_MANIFEST_BYTES } from './descriptor.js';
export type {
  ContainerConfig,
  Descriptor,
  FetchedManifest,
  HealthConfig,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ImageRecord,
  Platform,
} from './descriptor.js';
export { DigestVerifier, isValidDigest, sha256Digest, sha256File } from './digest.js';
export { formatReference, isValidTag, parseLayoutReference, parseReference, tagOf } from './reference.js';
export type { ImageReference, LayoutReference } from './reference.js';
export { replaceDirectory, tempPathBeside, writeFileAtomic } from './fs/atomic.js';
export { writeResumableFile } from './fs/resumable-write.js';
export { writeVerifiedFile } from './fs/verified-write.js';
export type { VerifiedTransferOptions } from './fs/verified-write.js';
export {
  blobPath,
  findInLayout,
  initLayout,
  isLayout,
  layoutTags,
  readIndex,
  tagManifest,
} from './layout/layout.js';
export {
  copyBlob,
  copyBlobToFile,
  hasLayoutBlob,
  readBlob,
  readJsonBlob,
  writeBlob,
  writeBlobFrom,
  writeJsonBlob,
} from './layout/blobs.js';
export { assertImageManifest, ociArchitecture, readImageFromLayout, selectPlatform } from './layout/image.js';
export { assertTagFree, copyImageToLayout } from './layout/copy-image.js';
export { RegistryClient } from './registry/client.js';
export type { RegistryClientOptions } from './registry/client.js';
export type { PushBlobOptions, PushBlobResult } from './registry/blob-upload.js';
export type { PutManifestResult } from './registry/manifests.js';
export { referrersTag } from './registry/referrers.js';
export type { PushReferrerResult } from './registry/referrers.js';
export { bytesBlob, fileBlob } from './registry/blob-source.js';
export type { BlobSource } from './registry/blob-source.js';
export { describeCredentialSources, findCredentials } from './registry/credentials.js';
export type { CredentialLookupOptions, Credentials, CredentialSources } from './registry/credentials.js';
export { spawnHelper } from './registry/credential-helper.js';
export type { HelperOutcome, HelperRunner, HelperRunOptions } from './registry/credential-helper.js';
export { abortableSleep } from './registry/retry.js';
export type { RetryPolicy, Sleep } from './registry/retry.js';
export { connectRegistry } from './registry/connect.js';
export type { ConnectOptions } from './registry/connect.js';
export type { ArtifactStore, TransferOptions } from './store/artifact-store.js';
export { layoutStore } from './store/layout-store.js';
export { registryStore } from './store/registry-store.js';
export { openArtifactStore } from './store/open-store.js';
export type { OpenedStore } from './store/open-store.js';
