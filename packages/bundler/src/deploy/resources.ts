import type { ModelFacts } from '../model/model-facts.js';

const MIB = 1024 * 1024;
/** Compute buffers, the HTTP server and the process itself; llama-server on CPU stays well inside this for small contexts. */
const OVERHEAD_BYTES = 256 * MIB;
/** Headroom of the limit over the request, for prompt-processing peaks. */
const LIMIT_FACTOR = 1.25;

export interface MemoryEstimate {
  modelBytes: number;
  kvCacheBytes: number;
  /** What the server needs: model + KV cache + overhead, in whole MiB. */
  requestMiB: number;
  /** requestMiB with headroom; used for MemoryMax= and the container limit. */
  limitMiB: number;
}

/**
 * The memory a llama-server needs for a model at a context size: the model
 * file (mapped), the F16 KV cache for `ctx` positions (gguf-reader's
 * summary sizes it as llama-kv-cache.cpp does), and a fixed overhead.
 */
export function estimateMemory(facts: ModelFacts, modelBytes: number, ctx: number): MemoryEstimate {
  const kvCacheBytes = facts.kvCacheBytesPerToken * ctx;
  const requestMiB = Math.ceil((modelBytes + kvCacheBytes + OVERHEAD_BYTES) / MIB);
  return { modelBytes, kvCacheBytes, requestMiB, limitMiB: Math.ceil(requestMiB * LIMIT_FACTOR) };
}
