import { describe, expect, it } from '@jest/globals';
import {
  holmAdjust,
  incompleteBeta,
  mannWhitneyBinned,
  normalCdf,
  studentQuantile,
  studentTwoSidedP,
  twoProportionTest,
  welchTTest,
} from './statistics.js';

// Reference values come from SciPy 1.17 (scipy.stats), an independent
// implementation, as noted beside each.

/** I_x(a, b) for whole a and b, by its binomial sum: an independent way to compute it. */
function binomialBeta(x: number, a: number, b: number): number {
  const n = a + b - 1;
  let sum = 0;
  for (let j = a; j <= n; j++) {
    let choose = 1;
    for (let k = 1; k <= j; k++) choose = (choose * (n - j + k)) / k;
    sum += choose * x ** j * (1 - x) ** (n - j);
  }
  return sum;
}

describe('distributions', () => {
  it('computes the regularized incomplete beta function as its binomial sum does', () => {
    for (const [x, a, b] of [
      [0.5, 2, 3],
      [0.1, 1, 9],
      [0.83, 7, 4],
      [0.3, 12, 15],
    ]) {
      expect(incompleteBeta(x, a, b)).toBeCloseTo(binomialBeta(x, a, b), 10);
    }
  });

  it("gives Student's t and normal tail probabilities", () => {
    expect(studentTwoSidedP(2.0, 10)).toBeCloseTo(0.07338803477074037, 9); // 2 * stats.t.sf(2, 10)
    expect(studentQuantile(0.05, 24.9)).toBeCloseTo(2.0599580324598343, 5); // stats.t.ppf(0.975, 24.9)
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 6);
  });
});

describe('welchTTest', () => {
  it('matches scipy.stats.ttest_ind(equal_var=False) on its textbook samples', () => {
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const result = welchTTest(a, b);
    expect(result.t).toBeCloseTo(2.455356398286006, 9);
    expect(result.df).toBeCloseTo(24.988529290231416, 9);
    expect(result.p).toBeCloseTo(0.021378001462866992, 8);
    expect(result.relative).toBeCloseTo((result.meanB - result.meanA) / result.meanA, 12);
  });

  it('finds no difference between identical samples', () => {
    expect(welchTTest([3, 3, 3], [3, 3, 3]).p).toBe(1);
    expect(welchTTest([1, 2, 3, 4], [4, 3, 2, 1]).p).toBeCloseTo(1, 12);
  });
});

describe('twoProportionTest', () => {
  it('matches the pooled z statistic and its normal p-value', () => {
    const result = twoProportionTest(12, 400, 19, 410);
    expect(result.z).toBeCloseTo(1.2120088853377768, 9);
    expect(result.p).toBeCloseTo(0.22550897941586034, 6); // 2 * stats.norm.sf(z)
    expect(twoProportionTest(5, 1000, 40, 1000).z).toBeCloseTo(5.277198185372175, 9);
  });
});

describe('mannWhitneyBinned', () => {
  it('matches scipy.stats.mannwhitneyu (asymptotic, no continuity correction) on tied observations', () => {
    const shifted = mannWhitneyBinned([50, 30, 20], [20, 30, 50]);
    expect(shifted.u).toBe(6950);
    expect(shifted.p).toBeCloseTo(4.2316069623795503e-7, 6);
    const alike = mannWhitneyBinned([3, 0, 7, 12, 5, 1], [1, 4, 6, 9, 8, 2]);
    expect(alike.u).toBe(447.5);
    expect(alike.p).toBeCloseTo(0.6571528267353806, 6);
  });

  it('says how often B exceeds A, counting ties as half, as pairwise comparison does', () => {
    const countsA = [4, 2, 0, 1];
    const countsB = [1, 1, 3, 2];
    let wins = 0;
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) wins += countsA[i] * countsB[j] * (j > i ? 1 : j === i ? 0.5 : 0);
    expect(mannWhitneyBinned(countsA, countsB).probabilityBGreater).toBeCloseTo(wins / (7 * 7), 12);
  });
});

describe('holmAdjust', () => {
  it('multiplies the smallest p by the number of tests, and never lets the order invert', () => {
    expect(holmAdjust([0.01, 0.04, 0.03, 0.5])).toEqual([0.04, 0.09, 0.09, 0.5]);
  });
});
