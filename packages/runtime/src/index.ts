export { RuntimeError } from './errors.js';
export type { RuntimeErrorCode } from './errors.js';
export { httpStatusFor, openAiErrorBody, parseGenerationRequest } from './openai/protocol.js';
export type { ChatMessage, FinishReason, GenerationRequest, GenerationResult, OpenAiErrorBody } from './openai/protocol.js';
export type { Engine } from './serve/engine.js';
export { createNodeLlamaEngine, effectiveThreads } from './serve/node-llama-engine.js';
export type { NodeLlamaEngineOptions } from './serve/node-llama-engine.js';
export { startOpenAiServer } from './serve/openai-server.js';
export type { OpenAiServerOptions, RunningServer } from './serve/openai-server.js';
