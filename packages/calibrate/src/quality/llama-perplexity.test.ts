import { describe, expect, it } from '@jest/globals';
import { parseKlDivergenceRun, parseLoadMs, parsePerplexityRun } from './llama-perplexity.js';

// The ends of real runs of this llama.cpp's llama-perplexity (see
// agreement.test.ts for the tool itself), trimmed to the lines that are read.
const KLD_OUTPUT = `0.00.773.054 I system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : AVX2 = 1 |
0.00.773.717 I kl_divergence: computing over 21 chunks, n_ctx=128, batch_size=2048, n_seq=16
====== Perplexity statistics ======
Mean PPL(Q)                   : 287.290033 ±   9.700110
Mean PPL(base)                : 306.632564 ±  10.628234
Cor(ln(PPL(Q)), ln(PPL(base))):  90.41%
Mean ln(PPL(Q)/PPL(base))     :  -0.065158 ±   0.015013
====== KL divergence statistics ======
Mean    KLD:   0.144942 ±   0.001570
Maximum KLD:   0.537473
99.0%   KLD:   0.314902
Median  KLD:   0.134548
RMS Δp    :  0.707 ± 0.071 %
Same top p: 50.945 ± 1.375 %`;

describe('parseKlDivergenceRun', () => {
  it('reads the statistics llama-perplexity prints at the end of a --kl-divergence run', () => {
    expect(parseKlDivergenceRun(KLD_OUTPUT)).toEqual({
      tokens: 21 * 63,
      perplexity: { value: 287.290033, uncertainty: 9.70011 },
      perplexityBase: { value: 306.632564, uncertainty: 10.628234 },
      lnPerplexityRatio: { value: -0.065158, uncertainty: 0.015013 },
      kld: { value: 0.144942, uncertainty: 0.00157 },
      kldMedian: 0.134548,
      kld99: 0.314902,
      kldMax: 0.537473,
      top1Agreement: { value: 0.50945, uncertainty: 0.01375 },
      deltaPRms: 0.00707,
    });
  });

  it('says so, with a hint, when the statistics are missing', () => {
    expect(() => parseKlDivergenceRun(KLD_OUTPUT.split('\n').slice(0, 3).join('\n'))).toThrow(
      expect.objectContaining({
        code: 'MEASUREMENT_FAILED',
        hint: expect.stringMatching(/100 compared tokens/),
      }),
    );
  });
});

describe('parsePerplexityRun and parseLoadMs', () => {
  it('read the final estimate and the time the model was ready, even on a line the ETA shares', () => {
    const output =
      '0.02.001.873 I perplexity: tokenizing the input ..\n' +
      '0.02.021.381 I perplexity: calculating perplexity over 39 chunks, n_ctx=128, batch_size=128, n_seq=1\n' +
      '0.03.338.420 I perplexity: 1.92 seconds per pass - ETA 1.07.789.657 I Final estimate: PPL = 284.1680 +/- 7.48837';
    expect(parsePerplexityRun(output)).toEqual({
      tokens: 39 * 63,
      perplexity: { value: 284.168, uncertainty: 7.48837 },
    });
    expect(parseLoadMs(output)).toBeCloseTo(2001.873, 3);
  });
});
