// The public API of @alki/bundler. Everything else is private.
export { BundlerError } from './errors.js';
export type { BundlerErrorCode } from './errors.js';
export {
  DOCKERFILE_PATH,
  isSignatureFile,
  K3S_DEPLOYMENT_PATH,
  K3S_SERVICE_PATH,
  LICENSE_PATH,
  MANIFEST_PATH,
  MODELS_DIR,
  projectorUri,
  README_PATH,
  RUNTIME_PATH,
  SBOM_PATH,
  SIGNATURES_DIR,
  systemdUnitPath,
  TRUST_POLICY_PATH,
  agentUnitPath,
} from './format/layout.js';
export { shellArgument } from './deploy/escape.js';
export { contextArgs, DEFAULT_PARALLEL, llamaServerArgs, slotCount } from './deploy/llama-server-args.js';
export { slotsThatFit } from './deploy/resources.js';
export type { LlamaServerRuntime } from './deploy/llama-server-args.js';
export { slugify } from './format/naming.js';
export {
  manifestSchemaV1,
  manifestSchemaV2,
  MAX_PARALLEL,
  runtimeSchemaV1,
  runtimeSchemaV2,
} from './format/schema.js';
export { isModelArtifact, modelArtifacts, projectorArtifact } from './format/artifacts.js';
export type {
  ArtifactRole,
  Bundle,
  BundleArtifact,
  BundleFileEntry,
  BundleImatrix,
  BundleManifest,
  BundleSource,
  GpuLayerSetting,
  RuntimeAccelerator,
  RuntimeAgent,
  RuntimeArgs,
  RuntimeManifest,
  ThreadSetting,
} from './format/types.js';
export {
  artifactPath,
  isContainedPath,
  parseManifest,
  parseRuntime,
  schemaValidator,
  schemaProblems,
  listProblems,
} from './format/validate.js';
export { hashFile } from './io/hash.js';
export type { CopyStrategy, HashedFile } from './io/hash.js';
export { inspectGguf, quantLabel } from './model/model-facts.js';
export { estimateMemory } from './deploy/resources.js';
export type { ResourceEstimate } from './deploy/resources.js';
export type { ModelFacts } from './model/model-facts.js';
export { DEMO_NAME, packDemo } from './demo/pack-demo.js';
export type { PackDemoOptions } from './demo/pack-demo.js';
export { ALKI_VERSION, DEFAULT_CONTEXT, DEFAULT_COPY_STRATEGY, DEFAULT_OUT_DIR, pack } from './pack/pack.js';
export type { PackOptions, PackProgress, PackResult, PackSteps } from './pack/pack.js';
export { SUPPORTED_QUANTS } from './pack/quantize-models.js';
export { updateBundleRuntime } from './pack/update-runtime.js';
export { writeTwoStageDeploy } from './deploy/write-two-stage.js';
export type { DeployOptions, TwoStageOptions } from './deploy/render-deploy.js';
export type { RuntimeUpdate, UpdatedRuntime } from './pack/update-runtime.js';
export type { StagedBundle } from './pack/write-bundle.js';
export { bundleFile } from './bundle-file.js';
export { readBundle } from './read-bundle.js';
export { verifyBundle } from './verify-bundle.js';
export type { VerifyOptions, VerifyProblem, VerifyProblemKind, VerifyReport } from './verify-bundle.js';
