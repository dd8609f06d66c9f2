import { describe, expect, it } from '@jest/globals';
import { perplexityChunks } from './chunks.js';

describe('perplexityChunks', () => {
  const tokens = Array.from({ length: 70 }, (_, i) => 100 + i);

  it('cuts whole windows, puts BOS first in each, and scores the second half as perplexity.cpp does', () => {
    const { chunks, first, scoredPerChunk } = perplexityChunks(tokens, 16, 1);
    // 70 tokens make 4 windows of 16; the last 6 are left out.
    expect(chunks.length).toBe(4);
    expect(chunks[1]).toEqual([1, ...tokens.slice(17, 32)]);
    expect(first).toBe(8);
    // Positions 8..14 predict tokens 9..15.
    expect(scoredPerChunk).toBe(7);
  });

  it('keeps the first token when the model adds no BOS, and stops at --chunks', () => {
    const { chunks } = perplexityChunks(tokens, 16, null, 2);
    expect(chunks).toEqual([tokens.slice(0, 16), tokens.slice(16, 32)]);
  });

  it('refuses a text shorter than two windows, as llama-perplexity does, with a hint', () => {
    expect(() => perplexityChunks(tokens, 64, 1)).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/70 tokens.*needs at least 128/),
      }),
    );
  });
});
