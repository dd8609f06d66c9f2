import { describe, expect, it } from '@jest/globals';
import { abortingModel, tinyModel } from '../test-support/models.js';
import { validateGgufModel, validationThreads } from './validate-gguf.js';

describe('validationThreads', () => {
  it('uses the idle cores: all of an idle machine, one on a busy one, never none', () => {
    expect(validationThreads(8, 0.2)).toBe(8);
    expect(validationThreads(2, 0.1)).toBe(2);
    expect(validationThreads(4, 1.6)).toBe(2);
    expect(validationThreads(2, 0.7)).toBe(1);
    expect(validationThreads(2, 17.5)).toBe(1);
    expect(validationThreads(1, 0)).toBe(1);
  });
});

describe('validateGgufModel', () => {
  it('passes a tiny working model and reports its speed, memory and score', async () => {
    const report = await validateGgufModel(await tinyModel(), {
      maxTokens: 4,
      contextSize: 64,
      threads: 1,
      score: true,
      execArgv: [],
    });
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['structure', 'pass'],
      ['load', 'pass'],
      ['tokenizer', 'pass'],
      ['chat-template', 'pass'],
      ['generation', 'pass'],
      ['score', 'pass'],
    ]);
    expect(report.ok).toBe(true);
    expect(report.metrics.generatedTokens).toBe(4);
    expect(report.metrics.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(report.metrics.meanNll).toBeGreaterThan(0);
  }, 120_000);

  it('reports the load check as failed when llama.cpp aborts the child, and survives', async () => {
    const report = await validateGgufModel(await abortingModel(), {
      maxTokens: 4,
      contextSize: 64,
      threads: 1,
      execArgv: [],
    });
    expect(report.ok).toBe(false);
    const load = report.checks.find((c) => c.name === 'load');
    expect(load?.status).toBe('fail');
    expect(load?.message).toMatch(
      /^llama\.cpp aborted the process during the load check: .*GGML_ASSERT.* \(the header lacks llama\.feed_forward_length\)$/,
    );
    expect(load?.details).toMatchObject({ signal: 'SIGABRT' });
  }, 120_000);
});
