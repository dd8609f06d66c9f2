import type { ModelFacts } from '../model/model-facts.js';

const MIB = 1024 * 1024;
/** Compute buffers, the HTTP server and the process itself; llama-server on CPU stays well inside this for small contexts. */
const OVERHEAD_BYTES = 256 * MIB;
/** Headroom of the limit over the request, for prompt-processing peaks. */
const LIMIT_FACTOR = 1.25;

export interface ResourceEstimate {
  modelBytes: number;
  kvCacheBytes: number;
  /** What the server needs: model + KV cache + overhead, in whole MiB. */
  requestMiB: number;
  /** requestMiB with headroom; used for MemoryMax= and the container limit. */
  limitMiB: number;
}

/**
 * The memory a llama-server needs for a model with `slots` contexts of `ctx`
 * tokens: the model file (mapped), the F16 KV cache for `ctx × slots`
 * positions (gguf-reader's summary sizes it as llama-kv-cache.cpp does), and
 * a fixed overhead.
 */
export function estimateMemory(
  facts: Pick<ModelFacts, 'kvCacheBytesPerToken'>,
  modelBytes: number,
  ctx: number,
  slots = 1,
): ResourceEstimate {
  const kvCacheBytes = facts.kvCacheBytesPerToken * ctx * slots;
  const requestMiB = Math.ceil((modelBytes + kvCacheBytes + OVERHEAD_BYTES) / MIB);
  return { modelBytes, kvCacheBytes, requestMiB, limitMiB: Math.ceil(requestMiB * LIMIT_FACTOR) };
}

/**
 * How many of the `requested` slots of `ctx` tokens fit in `availableBytes`
 * beside the model and the overhead: `requested` when all fit, else fewer,
 * and at least 1 (a server with no slot serves nothing; one that does not
 * fit fails loudly when it allocates). Pure.
 *
 * @example
 * slotsThatFit({ kvCacheBytesPerToken: 16384 }, 300 * 2 ** 20, 4096, 4, 2 * 2 ** 30); // 4
 */
export function slotsThatFit(
  facts: Pick<ModelFacts, 'kvCacheBytesPerToken'>,
  modelBytes: number,
  ctx: number,
  requested: number,
  availableBytes: number,
): number {
  const perSlot = facts.kvCacheBytesPerToken * ctx;
  if (perSlot <= 0) return requested;
  const room = Math.floor((availableBytes - modelBytes - OVERHEAD_BYTES) / perSlot);
  return Math.max(1, Math.min(requested, room));
}
