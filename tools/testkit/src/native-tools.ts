import {
  buildCrossLlamaServer,
  buildLlamaTools,
  type CrossLlamaServer,
  type LlamaTools,
} from '@alki/llama-tools';

let pending: Promise<LlamaTools> | undefined;
const crossPending = new Map<string, Promise<CrossLlamaServer>>();

/**
 * The native llama.cpp tools for tests: built once per machine into the
 * versioned cache (`npm test` builds them before Jest starts), found there
 * afterwards.
 */
export function nativeTools(): Promise<LlamaTools> {
  pending ??= buildLlamaTools();
  return pending;
}

/**
 * llama-server cross-compiled for `platform` (linux/arm64), as `nativeTools`:
 * `npm test` builds it before Jest starts, tests find it in the cache.
 */
export function crossLlamaServer(platform: string): Promise<CrossLlamaServer> {
  let built = crossPending.get(platform);
  if (!built) {
    built = buildCrossLlamaServer(platform);
    crossPending.set(platform, built);
  }
  return built;
}
