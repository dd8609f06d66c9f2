import type { ModelFacts } from '../model/model-facts.js';

const MIB = 1024 * 1024;
/** Compute buffers, the HTTP server and the process itself; llama-server on CPU stays well inside this for small contexts. */
const OVERHEAD_BYTES = 256 * MIB;
/** Headroom of the limit over the request, for prompt-processing peaks. */
const LIMIT_FACTOR = 1.25;
/** Bytes per KV-cache element: llama.cpp's default cache type is F16 (common/arg.cpp, --cache-type-k). */
const KV_ELEMENT_BYTES = 2;

export interface MemoryEstimate {
  modelBytes: number;
  kvCacheBytes: number;
  /** What the server needs: model + KV cache + overhead, in whole MiB. */
  requestMiB: number;
  /** requestMiB with headroom; used for MemoryMax= and the container limit. */
  limitMiB: number;
}

/**
 * The memory a llama-server needs for a model at a context size. The KV
 * cache holds K and V for every layer and position: 2 x layers x ctx x
 * (embedding x kv_heads / heads) elements (llama-kv-cache.cpp sizes it the
 * same way, with n_embd_k_gqa = head_dim x n_head_kv).
 */
export function estimateMemory(facts: ModelFacts, modelBytes: number, ctx: number): MemoryEstimate {
  const kvWidth = facts.headCount > 0 ? (facts.embeddingLength * facts.headCountKv) / facts.headCount : facts.embeddingLength;
  const kvCacheBytes = Math.ceil(2 * facts.blockCount * ctx * kvWidth * KV_ELEMENT_BYTES);
  const requestMiB = Math.ceil((modelBytes + kvCacheBytes + OVERHEAD_BYTES) / MIB);
  return { modelBytes, kvCacheBytes, requestMiB, limitMiB: Math.ceil(requestMiB * LIMIT_FACTOR) };
}
