export { ImageBuilderError } from './errors.js';
export type { ImageBuilderErrorCode } from './errors.js';
export { writeTar, canonicalTarEntries } from './tar/write-tar.js';
export { bufferEntry } from './tar/tar-header.js';
export type { TarEntry, TarFileContent } from './tar/tar-header.js';
export { writeLayer } from './layer/write-layer.js';
export type { LayerCompression, WriteLayerOptions, WrittenLayer } from './layer/write-layer.js';
export { assembleImage, reproducibleTime } from './image/image-config.js';
export type { AssembleImageInput, NewLayer } from './image/image-config.js';
export { exportOciLayout, writeDockerArchive } from './image/export.js';
export { pullImage, pushImage } from './image/registry-transfer.js';
export type { RegistryAccess } from './image/registry-transfer.js';
export {
  ALKI_IMAGE_LABEL,
  BASE_HEALTHCHECK_PATH,
  BASE_SERVER_PATH,
  HEALTHCHECK_LABEL,
  buildAirGappedBase,
} from './base/air-gapped-base.js';
export type { BuildBaseOptions, BuiltImage } from './base/air-gapped-base.js';
export type { BaseSpec } from './base/resolve-base.js';
export { parseLddOutput, programRunner, sharedLibrariesOf } from './base/shared-libraries.js';
export type { RunProgram } from './base/shared-libraries.js';
export { IMAGE_BUNDLE_DIR, chooseArtifact } from './bundle/bundle-layer.js';
export { buildImage } from './build-image.js';
export type { BuildImageOptions } from './build-image.js';
export { imageStoreDir, listStoreImages } from './store.js';
export type { ListedImage } from './store.js';
export { detectEngine, listEngineImages, loadIntoEngine } from './run/engine.js';
export type { ContainerEngine, EngineName } from './run/engine.js';
export { testImage, withPort } from './run/test-image.js';
export type { ImageTestResult, TestImageOptions } from './run/test-image.js';
export { DEFAULT_BASE, parseBaseSpec, prepareBase } from './base/resolve-base.js';
export { deliverImage } from './deliver.js';
export type { Delivered, DeliveryTargets } from './deliver.js';
export { buildRuntimeImage } from './runtime/runtime-image.js';
export type { BuildRuntimeImageOptions } from './runtime/runtime-image.js';
export { RUNTIME_BUNDLE_DIR, runRuntime, runtimeSettings } from './runtime/runtime-main.js';
export type { RuntimeDeps, RuntimeSettings } from './runtime/runtime-main.js';
