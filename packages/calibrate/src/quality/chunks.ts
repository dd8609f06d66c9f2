import { CalibrateError } from '../errors.js';

/** The text cut into evaluation windows, as llama-perplexity cuts it. */
export interface PerplexityChunks {
  /** Context size of each window, in tokens. */
  nCtx: number;
  /** Each window's tokens, the first replaced by BOS when the model adds one. */
  chunks: number[][];
  /**
   * The first position whose next-token prediction is scored: only the second
   * half of each window counts, so every scored token has at least nCtx/2
   * tokens before it.
   */
  first: number;
  /** Scored predictions per window: positions first .. nCtx-2 predict tokens first+1 .. nCtx-1. */
  scoredPerChunk: number;
}

/**
 * Cuts tokens into windows exactly as llama.cpp's tools/perplexity/perplexity.cpp
 * does (`perplexity()` and `kl_divergence()`): floor(tokens / nCtx) windows of
 * nCtx tokens, the first token of each replaced by BOS when the vocabulary
 * adds one (`llama_vocab_get_add_bos`), and the predictions from position
 * nCtx/2 on scored. So figures computed here and by llama-perplexity cover
 * the same tokens.
 *
 * @example
 * const { chunks, first } = perplexityChunks([1, ...textTokens], 128, 1);
 */
export function perplexityChunks(
  tokens: readonly number[],
  nCtx: number,
  bos: number | null,
  maxChunks?: number,
): PerplexityChunks {
  if (!Number.isInteger(nCtx) || nCtx < 4) {
    throw new CalibrateError(
      'INVALID_OPTIONS',
      `The quality context must be a whole number of at least 4 tokens, not ${nCtx}.`,
    );
  }
  // perplexity.cpp refuses fewer than two windows' worth of tokens.
  if (tokens.length < 2 * nCtx) {
    throw new CalibrateError(
      'INVALID_INPUT',
      `The text is ${tokens.length} tokens; measuring quality with a context of ${nCtx} needs at least ${2 * nCtx}.`,
      {
        hint: 'Give a longer --text, or a smaller --quality-context.',
        details: { tokens: tokens.length, nCtx },
      },
    );
  }
  const available = Math.floor(tokens.length / nCtx);
  const count = maxChunks === undefined ? available : Math.max(1, Math.min(maxChunks, available));
  const chunks: number[][] = [];
  for (let i = 0; i < count; i++) {
    const chunk = tokens.slice(i * nCtx, (i + 1) * nCtx);
    if (bos !== null) chunk[0] = bos;
    chunks.push(chunk);
  }
  const first = Math.floor(nCtx / 2);
  return { nCtx, chunks, first, scoredPerChunk: nCtx - 1 - first };
}
