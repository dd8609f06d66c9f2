import { describe, expect, it } from '@jest/globals';
import { nativeTools } from '@alki/testkit';
import { calibrationModels } from '../__fixtures__/models.js';
import { llamaBenchArgs, parseLlamaBenchJsonl, runLlamaBenchModels } from './llama-bench.js';
import { candidateThreads, fastest } from './speed.js';

describe('parseLlamaBenchJsonl', () => {
  it('reads prompt tests (n_gen 0) and generation tests (n_prompt 0)', () => {
    const text = [
      '{"n_prompt": 64, "n_gen": 0, "n_threads": 2, "n_batch": 64, "avg_ts": 3554.03, "stddev_ts": 53.05}',
      '{"n_prompt": 0, "n_gen": 16, "n_threads": 2, "n_batch": 64, "avg_ts": 410.5, "stddev_ts": 3.2}',
    ].join('\n');
    expect(parseLlamaBenchJsonl(text)).toEqual([
      { kind: 'prompt', threads: 2, batch: 64, tokensPerSecond: 3554.03, stddev: 53.05 },
      { kind: 'generation', threads: 2, batch: 64, tokensPerSecond: 410.5, stddev: 3.2 },
    ]);
  });

  it('builds the command line of a plan', () => {
    expect(
      llamaBenchArgs('m.gguf', {
        threads: [1, 2],
        batches: [128, 512],
        promptTokens: 256,
        generatedTokens: 64,
        depth: 0,
        repetitions: 3,
      }),
    ).toEqual([
      '-m',
      'm.gguf',
      '-p',
      '256',
      '-n',
      '64',
      '-d',
      '0',
      '-t',
      '1,2',
      '-b',
      '128,512',
      '-ub',
      '128,512',
      '-r',
      '3',
      '-o',
      'jsonl',
    ]);
  });
});

describe('runLlamaBenchModels', () => {
  it('measures several models in one llama-bench and gives each model its own samples', async () => {
    const tools = await nativeTools();
    const { models } = await calibrationModels();
    const plan = {
      threads: [1],
      batches: [64],
      promptTokens: 32,
      generatedTokens: 8,
      depth: 0,
      repetitions: 1,
    };
    const progress: number[] = [];
    const speeds = await runLlamaBenchModels({
      binary: tools.paths['llama-bench'],
      models: models.map((m) => m.file),
      plan,
      onTest: (done, total) => progress.push(done / total),
    });
    expect(speeds.map((s) => s.samples.map((x) => [x.kind, x.threads, x.batch]))).toEqual(
      models.map(() => [
        ['prompt', 1, 64],
        ['generation', 1, 64],
      ]),
    );
    expect(speeds.every((s) => s.samples.every((x) => x.tokensPerSecond > 0) && s.wallMs > 0)).toBe(true);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6].map((n) => n / 6));
    // Each model's resident memory, sampled while its own tests ran, holds at least its weights.
    for (const [i, speed] of speeds.entries()) {
      if (speed.peakRssBytes !== undefined) expect(speed.peakRssBytes).toBeGreaterThan(models[i].sizeBytes);
    }
  }, 300_000);

  it('puts one -m per model on the command line', () => {
    expect(
      llamaBenchArgs(['a.gguf', 'b.gguf'], {
        threads: [2],
        batches: [512],
        promptTokens: 8,
        generatedTokens: 4,
        depth: 0,
        repetitions: 1,
      }).slice(0, 4),
    ).toEqual(['-m', 'a.gguf', '-m', 'b.gguf']);
  });
});

describe('candidateThreads and fastest', () => {
  it('tries 1, powers of two, cores - 1 and cores, never more than the cores', () => {
    expect([
      candidateThreads(1),
      candidateThreads(2),
      candidateThreads(4),
      candidateThreads(8),
      candidateThreads(12),
    ]).toEqual([[1], [1, 2], [1, 2, 3, 4], [1, 2, 4, 7, 8], [1, 2, 4, 8, 11, 12]]);
  });

  it('picks the fastest sample of a kind, and the fewer threads on a tie', () => {
    const samples = [
      { kind: 'generation' as const, threads: 4, batch: 512, tokensPerSecond: 10, stddev: 0 },
      { kind: 'generation' as const, threads: 2, batch: 512, tokensPerSecond: 10, stddev: 0 },
      { kind: 'prompt' as const, threads: 4, batch: 512, tokensPerSecond: 99, stddev: 0 },
    ];
    expect(fastest(samples, 'generation')?.threads).toBe(2);
    expect(fastest(samples, 'prompt')?.threads).toBe(4);
  });
});
