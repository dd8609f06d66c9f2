import { buildLlamaTools, type LlamaTools } from '@alki/llama-tools';

let pending: Promise<LlamaTools> | undefined;

/**
 * The native llama.cpp tools for tests: built once per machine into the
 * versioned cache (`npm test` builds them before Jest starts), found there
 * afterwards.
 */
export function nativeTools(): Promise<LlamaTools> {
  pending ??= buildLlamaTools();
  return pending;
}
