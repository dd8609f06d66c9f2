export { cachedSnapshotDir } from './cache-layout.js';
export {
  DEFAULT_ENDPOINT,
  findToken,
  findTokenSource,
  hfHome,
  hubCacheDir,
  resolveHubConfig,
} from './config.js';
export type { HubConfig, HubOptions } from './config.js';
export { downloadFile } from './download-file.js';
export type { CachedFile, DownloadOptions } from './download-file.js';
export { HubError } from './errors.js';
export { hubAuthHeaders, hubGgufLocation } from './gguf-location.js';
export type { HubGgufLocation, HubGgufOptions } from './gguf-location.js';
export type { HubErrorCode } from './errors.js';
export { resolveModelTarget } from './model-target.js';
export type { ModelTarget, ModelTargetKind, ResolveTargetOptions } from './model-target.js';
export { parseRepoId } from './repo-id.js';
export { resolveModel } from './resolve-model.js';
export type { HubFile, ResolvedModel, ResolveOptions } from './resolve-model.js';
export { classifyRepo, isProjectorFile, selectFile, selectGguf, selectProjector } from './select-file.js';
export type { GgufSelection, RepoClassification, RepoKind } from './select-file.js';
export { snapshotDownload } from './snapshot-download.js';
export type { Snapshot, SnapshotOptions } from './snapshot-download.js';
