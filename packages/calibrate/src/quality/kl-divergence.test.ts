import { describe, expect, it } from '@jest/globals';
import { baseDistribution, perplexityOf, QualityAccumulator, scorePosition } from './kl-divergence.js';

describe('scorePosition', () => {
  it('computes KL(base || quant) over the base tokens, top-1 agreement and the losses', () => {
    const base = baseDistribution(
      new Map([
        [5, 0.9],
        [6, 0.1],
      ]),
      6,
    );
    const score = scorePosition(
      base,
      new Map([
        [5, 0.8],
        [6, 0.2],
      ]),
      6,
    );
    expect(score.kld).toBeCloseTo(0.9 * Math.log(0.9 / 0.8) + 0.1 * Math.log(0.1 / 0.2), 6);
    expect(score.sameTop).toBe(true);
    expect(score.nll).toBeCloseTo(-Math.log(0.2), 6);
    expect(score.nllBase).toBeCloseTo(-Math.log(0.1), 6);
    expect(score.pDiff).toBeCloseTo(0.1, 6);
  });

  it('is zero for the same distribution, and notices a different top token', () => {
    const probabilities = new Map([
      [1, 0.5],
      [2, 0.3],
      [3, 0.2],
    ]);
    const base = baseDistribution(probabilities, 2);
    expect(scorePosition(base, probabilities, 2).kld).toBeCloseTo(0, 7);
    expect(
      scorePosition(
        base,
        new Map([
          [1, 0.3],
          [2, 0.5],
          [3, 0.2],
        ]),
        2,
      ).sameTop,
    ).toBe(false);
  });

  it("leaves base tokens below e^-16 out of the sum, as perplexity.cpp does, but keeps the next token's loss", () => {
    const tiny = Math.exp(-20);
    const base = baseDistribution(
      new Map([
        [1, 1 - tiny],
        [2, tiny],
      ]),
      2,
    );
    expect([...base.tokens]).toEqual([1]);
    expect(base.nll).toBeCloseTo(20, 4);
  });
});

describe('QualityAccumulator', () => {
  it("gives means with perplexity.cpp's standard errors", () => {
    const accumulator = new QualityAccumulator();
    const klds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2];
    klds.forEach((kld, i) =>
      accumulator.add({ kld, sameTop: i % 3 !== 0, nll: 2, nllBase: 1.5, pDiff: 0.01 }),
    );
    const summary = accumulator.summary();
    const mean = 0.65;
    const variance = klds.reduce((a, k) => a + k * k, 0) / 12 - mean * mean;
    expect(summary.kld.value).toBeCloseTo(mean, 10);
    expect(summary.kld.uncertainty).toBeCloseTo(Math.sqrt(variance / 11), 10);
    expect(summary.top1Agreement.value).toBeCloseTo(8 / 12, 10);
    expect(summary.perplexity.value).toBeCloseTo(Math.exp(2), 10);
    expect(summary.perplexityBase.value).toBeCloseTo(Math.exp(1.5), 10);
    expect(summary.lnPerplexityRatio.value).toBeCloseTo(0.5, 10);
    expect(summary.kldMedian).toBeCloseTo(0.65, 10);
    expect(summary.kldMax).toBe(1.2);
    expect(summary.deltaPRms).toBeCloseTo(0.01, 10);
  });
});

describe('perplexityOf', () => {
  it('is e to the mean loss', () => {
    expect(perplexityOf([1, 2, 3]).perplexity.value).toBeCloseTo(Math.exp(2), 10);
  });
});
