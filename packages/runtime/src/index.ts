export { DASHBOARD_DATA_PATH, dashboardPathProblem } from './dashboard/dashboard.js';
export type { DashboardData } from './dashboard/dashboard.js';
export type { AgentStatus } from './dashboard/agent-status.js';
export type { DashboardSample } from './dashboard/samples.js';
export { RuntimeError } from './errors.js';
export type { RuntimeErrorCode } from './errors.js';
export {
  httpStatusFor,
  openAiErrorBody,
  parseEmbeddingRequest,
  parseGenerationRequest,
} from './openai/protocol.js';
export type {
  ChatMessage,
  FinishReason,
  EmbeddingRequest,
  GenerationRequest,
  GenerationResult,
  ToolCall,
  OpenAiErrorBody,
} from './openai/protocol.js';
export { createKeyCheck, loadApiKeys } from './serve/access.js';
export type { AccessPolicy, ApiKeySources } from './serve/access.js';
export type { Engine } from './serve/engine.js';
export { createNodeLlamaEngine, effectiveThreads } from './serve/node-llama-engine.js';
export type { NodeLlamaEngineOptions } from './serve/node-llama-engine.js';
export { startOpenAiServer } from './serve/openai-server.js';
export type { OpenAiServerOptions, RunningServer } from './serve/openai-server.js';
export type { ServeSettings } from './serve/llama-server-args.js';
export { startLlamaServerEngine } from './serve/llama-server-engine.js';
export type { LlamaServerEngineOptions } from './serve/llama-server-engine.js';
export { serveModel } from './serve/serve.js';
export { resolveGgufSettings, resolveServeSettings } from './serve/settings.js';
export type { DashboardSettings, EngineName, ServeOptions, ServingModel } from './serve/serve.js';
export { DEFAULT_PROMPT, SCORE_TEXT } from './validate/builtin-text.js';
export { firstFailure } from './validate/report.js';
export type {
  CheckName,
  ValidationCheck,
  ModelMetrics,
  ModelReport,
  ValidationReport,
} from './validate/report.js';
export { runModelChecks } from './validate/run-worker.js';
export type { WorkerOutcome, WorkerRunOptions } from './validate/run-worker.js';
export { checkGgufStructure } from './validate/structure.js';
export { validateGgufModel } from './validate/validate-gguf.js';
export type { ValidateModelOptions } from './validate/validate-gguf.js';
export type { WorkerRequest } from './validate/worker-protocol.js';
export { validate } from './validate/validate.js';
export type { ValidateOptions } from './validate/validate.js';
