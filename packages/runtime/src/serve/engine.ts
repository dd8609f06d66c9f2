import type { GenerationRequest, GenerationResult } from '../openai/protocol.js';

/**
 * What the OpenAI-compatible server needs from a model runner. Two engines
 * implement it: node-llama-cpp in this process, and llama-server in a child.
 */
export interface Engine {
  /** `node-llama-cpp` or `llama-server`, for /health and logs. */
  readonly name: string;
  /** The model id clients send in `model`, and /v1/models lists. */
  readonly modelId: string;
  /** Tokens one request may hold, prompt and answer together. */
  readonly contextSize: number;
  /**
   * `true` when requests may carry images (a vision projector is loaded);
   * otherwise the sentence a request with images is refused with. Absent
   * means a text-only model.
   */
  readonly images?: true | string;
  /**
   * Generates an answer, calling `onText` with each piece as it is decoded.
   * Throws a RuntimeError with code CONTEXT_EXCEEDED when the prompt does not fit.
   */
  generate(
    request: GenerationRequest,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult>;
  /**
   * One embedding per input text, and the tokens they took; present only when
   * the engine was started to serve embeddings.
   */
  embed?(input: string[], signal: AbortSignal): Promise<{ embeddings: number[][]; promptTokens: number }>;
  /** False once the engine can no longer answer (llama-server exited); /health then answers 503. */
  healthy?(): boolean;
  /** The process the model runs in when it is not this one (llama-server's), for memory figures. */
  readonly pid?: number;
  /** Extra Prometheus text appended to /metrics (llama-server's own metrics). */
  metricsText?(): Promise<string>;
  close(): Promise<void>;
}
