import { describe, expect, it } from '@jest/globals';
import type { SpeedSample } from '../speed/speed.js';
import { recommend, type CandidateInput, type Constraints, type RecommendInput } from './recommend.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

// Three quants of one model as a 4-core device might measure them: smaller is
// faster and worse. Generation peaks at 3 threads (4 contend with the OS).
function samples(tg: number, pp: number): SpeedSample[] {
  const byThreads: Array<[number, number]> = [
    [1, 0.4],
    [2, 0.75],
    [3, 1],
    [4, 0.9],
  ];
  return byThreads.flatMap(([threads, share]) => [
    { kind: 'generation' as const, threads, batch: 512, tokensPerSecond: tg * share, stddev: 0 },
    { kind: 'prompt' as const, threads, batch: 512, tokensPerSecond: pp * share, stddev: 0 },
    { kind: 'prompt' as const, threads, batch: 128, tokensPerSecond: pp * share * 0.8, stddev: 0 },
  ]);
}

// Model bytes plus a KV cache of 128 KiB per token plus 256 MiB of overhead.
function candidate(
  quant: string,
  sizeMiB: number,
  tg: number,
  kld: number | undefined,
  isBase = false,
): CandidateInput {
  return {
    quant,
    sizeBytes: sizeMiB * MIB,
    isBase,
    kld,
    top1Agreement: kld === undefined ? undefined : 1 - kld * 2,
    samples: samples(tg, tg * 20),
    memoryAt: (context) => sizeMiB * MIB + context * 128 * 1024 + 256 * MIB,
  };
}

const CANDIDATES = [
  candidate('F16', 2400, 4, undefined, true),
  candidate('Q8_0', 1300, 7, 0.002),
  candidate('Q4_K_M', 750, 11, 0.04),
];

function input(constraints: Constraints, deviceMemoryBytes = 8 * GIB): RecommendInput {
  return { candidates: CANDIDATES, constraints, deviceMemoryBytes, trainedContext: 8192 };
}

describe('recommend', () => {
  // Each row: constraints, device memory, then the expected quant, context,
  // threads, batch, and the rejected options with the constraint each broke.
  it.each<[string, Constraints, number, string | undefined, number | undefined, Array<[string, string]>]>([
    ['no constraint: the fastest quant, at the trained context', {}, 8 * GIB, 'Q4_K_M', 8192, []],
    [
      'a tight --max-kl rules out the 4-bit quant',
      { maxKld: 0.01 },
      8 * GIB,
      'Q8_0',
      8192,
      [['Q4_K_M', 'max-kl']],
    ],
    [
      'a --max-kl of 0 leaves only the reference',
      { maxKld: 0 },
      8 * GIB,
      'F16',
      8192,
      [
        ['Q8_0', 'max-kl'],
        ['Q4_K_M', 'max-kl'],
      ],
    ],
    [
      'a speed floor rules out the slow ones',
      { minTokensPerSecond: 6 },
      8 * GIB,
      'Q4_K_M',
      8192,
      [['F16', 'min-tokens-per-second']],
    ],
    [
      'a speed floor and a quality bound together',
      { minTokensPerSecond: 6, maxKld: 0.01 },
      8 * GIB,
      'Q8_0',
      8192,
      [
        ['F16', 'min-tokens-per-second'],
        ['Q4_K_M', 'max-kl'],
      ],
    ],
    [
      // 750 + 256 MiB leave 274 MiB of 1280 for the cache; Q8_0 needs 1588 MiB even at 256 tokens.
      '--max-memory 1.25 GiB: only the 4-bit quant fits, at a smaller context',
      { maxMemoryBytes: 1.25 * GIB, maxKld: 0.05 },
      8 * GIB,
      'Q4_K_M',
      0,
      [
        ['F16', 'max-memory'],
        ['Q8_0', 'max-memory'],
      ],
    ],
    [
      // 1536 MiB: Q8_0 needs 1300 + 256 + 32 MiB at 256 tokens.
      'a small device: its own memory is the limit',
      {},
      1.5 * GIB,
      'Q4_K_M',
      0,
      [
        ['F16', 'device-memory'],
        ['Q8_0', 'device-memory'],
      ],
    ],
    [
      'a required context is kept as given',
      { context: 2048, maxKld: 0.01 },
      8 * GIB,
      'Q8_0',
      2048,
      [['Q4_K_M', 'max-kl']],
    ],
    [
      'a context past the trained length rejects every quant',
      { context: 16384 },
      8 * GIB,
      undefined,
      undefined,
      [
        ['F16', 'context'],
        ['Q8_0', 'context'],
        ['Q4_K_M', 'context'],
      ],
    ],
    [
      'constraints nothing meets leave no recommendation',
      { minTokensPerSecond: 20 },
      8 * GIB,
      undefined,
      undefined,
      [
        ['F16', 'min-tokens-per-second'],
        ['Q8_0', 'min-tokens-per-second'],
        ['Q4_K_M', 'min-tokens-per-second'],
      ],
    ],
  ])('%s', (_name, constraints, memory, quant, context, rejectedQuants) => {
    const { recommendation, rejected } = recommend(input(constraints, memory));
    expect(recommendation?.quant).toBe(quant);
    if (context !== undefined && context > 0) expect(recommendation?.context).toBe(context);
    // Only quant rejections here; contexts of the chosen quant are checked below.
    expect(rejected.filter((r) => !r.option.includes(' at ')).map((r) => [r.option, r.constraint])).toEqual(
      rejectedQuants,
    );
    for (const rejection of rejected) expect(rejection.reason.length).toBeGreaterThan(10);
  });

  it('under a memory limit, picks the largest power-of-two context that fits and lists the larger ones as rejected', () => {
    const { recommendation, rejected } = recommend(input({ maxMemoryBytes: 1 * GIB }));
    // 750 MiB + 256 MiB leaves 18 MiB for a 128 KiB/token cache: 128 tokens do not fit 256.
    // So Q4_K_M needs 1006 MiB + 32 MiB at 256 tokens, more than 1 GiB: nothing fits.
    expect(recommendation).toBeUndefined();
    expect(rejected.map((r) => r.constraint)).toEqual(['max-memory', 'max-memory', 'max-memory']);
    const roomier = recommend(input({ maxMemoryBytes: 1.25 * GIB }));
    // 1280 MiB - 1006 MiB = 274 MiB: 2048 tokens (256 MiB) fit, 4096 do not.
    expect(roomier.recommendation?.context).toBe(2048);
    expect(roomier.rejected.filter((r) => r.option.startsWith('Q4_K_M at ')).map((r) => r.option)).toEqual([
      'Q4_K_M at 8192 tokens',
      'Q4_K_M at 4096 tokens',
    ]);
  });

  it('picks the fastest thread count and the batch with the fastest prompt processing, and says why', () => {
    const { recommendation } = recommend(input({}));
    expect(recommendation).toMatchObject({ threads: 3, batch: 512 });
    expect(recommendation!.expected.generationTokensPerSecond).toBeCloseTo(11);
    expect(recommendation!.reasons.join(' ')).toMatch(
      /Q4_K_M generates fastest \(11\.0 tokens\/s\) of the 3 quants/,
    );
    expect(recommendation!.reasons.join(' ')).toMatch(/3 threads: the fastest generation measured/);
  });

  it('caps the batch at a required context smaller than it', () => {
    const { recommendation } = recommend(input({ context: 256 }));
    expect(recommendation).toMatchObject({ context: 256, batch: 256 });
  });
});
