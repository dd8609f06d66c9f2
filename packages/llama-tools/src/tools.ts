/** The native llama.cpp programs Alki builds and uses. */
export const LLAMA_TOOL_NAMES = [
  'llama-quantize',
  'llama-server',
  'llama-bench',
  'llama-tokenize',
  // The reference tools that calibrate, imatrix, gguf-split and vision tests compare against.
  'llama-imatrix',
  'llama-perplexity',
  'llama-gguf-split',
  'llama-mtmd-cli',
] as const;
export type LlamaToolName = (typeof LLAMA_TOOL_NAMES)[number];

/** Paths of a complete set of native tools. */
export interface LlamaTools {
  tag: string;
  binDir: string;
  paths: Record<LlamaToolName, string>;
}
