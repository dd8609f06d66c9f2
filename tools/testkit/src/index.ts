export { fixtureCacheDir } from './cache.js';
export { crossLlamaServer, nativeTools } from './native-tools.js';
export { podmanEnvironment } from './podman.js';
export type { PodmanEnvironment } from './podman.js';
export { freePort, waitForHttp } from './ports.js';
export { startPrometheus } from './prometheus.js';
export type { TestPrometheus } from './prometheus.js';
export { startProcess } from './process.js';
export type { RunningProcess } from './process.js';
export { startRegistry } from './registry.js';
export type { RegistryOptions, TestRegistry } from './registry.js';
export { launchChromium } from './chromium.js';
export { requireCommand } from './require-command.js';
export { selfSignedCertificate } from './certificate.js';
export type { SelfSignedCertificate } from './certificate.js';
export { rewriteGgufMetadata } from './gguf-edit.js';
export { startFakeHub } from './fake-hub/server.js';
export type { FakeHub, FakeHubFault, FakeHubOptions, FakeHubRequest } from './fake-hub/server.js';
export type { FakeFileContent, FakeRepoSpec, FakeRevisionSpec } from './fake-hub/repo.js';
export { CHECKPOINT_FAMILIES, FAMILY_SPECS, SIGLIP, SMOLVLM } from './fixtures/families.js';
export type { CheckpointFamily, FixtureTokenizer } from './fixtures/families.js';
export { checkpointDimensions, generateCheckpoint } from './fixtures/checkpoint.js';
export type { CheckpointOptions } from './fixtures/checkpoint.js';
export { tokenizerSourceFiles } from './fixtures/tokenizer-files.js';
export { cachedVisionGgufs } from './vision-gguf.js';
export type { VisionFamily, VisionGgufs } from './vision-gguf.js';
export { cachedTinyLlamaGguf, TINY_CHATML_TEMPLATE, writeTinyLlamaGguf } from './tiny-gguf.js';
export type { TinyLlamaGguf, TinyLlamaOptions } from './tiny-gguf.js';
export { startTokenServer } from './token-server.js';
export type { TokenServer, TokenServerOptions, TokenRequestRecord } from './token-server.js';
export { processAlive, writeHostileCredentialHelpers } from './credential-helpers.js';
export type { HostileCredentialHelpers } from './credential-helpers.js';
export { startCuttingProxy } from './cutting-proxy.js';
export type { CuttingProxy } from './cutting-proxy.js';
export { cachedSizedLlamaGguf, writeSizedLlamaGguf } from './sized-llama-gguf.js';
export type { SizedLlamaOptions } from './sized-llama-gguf.js';
export { startSigstoreStandIns } from './sigstore-stand-ins.js';
export type { SigstoreStandIns } from './sigstore-stand-ins.js';
export { percentile, sendChatLoad } from './chat-load.js';
export type { ChatLoadAnswer, ChatLoadOptions, ChatLoadResult } from './chat-load.js';
export { validateCompose } from './compose-schema.js';
export { checkQuadletContainer } from './quadlet-check.js';
export type { QuadletCheck } from './quadlet-check.js';
export { cachedToolPath } from './cached-tool.js';
export { generateQuadletUnit } from './quadlet-generator.js';
export type { QuadletGeneration } from './quadlet-generator.js';
export { parseUnitFile, splitSystemdCommandLine } from './systemd-syntax.js';
export type { UnitSections } from './systemd-syntax.js';
export { largeFleet } from './fleet-file.js';
export { commandOutput } from './command-output.js';
export {
  cachedScriptedLlamaGguf,
  SCRIPTED_TOOL_CALL,
  SCRIPTED_TOOLS_TEMPLATE,
  writeScriptedLlamaGguf,
} from './scripted-gguf.js';
export type { ScriptedLlamaGguf } from './scripted-gguf.js';
export { importRefusing } from './import-refusing.js';
