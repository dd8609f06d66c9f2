// The significance tests of `alki fleet report`, each chosen for the shape
// of its metric:
// - rates measured per interval (tokens/s): Welch's unequal-variance t-test
//   on the per-device, per-interval samples;
// - proportions (error rate): the pooled two-proportion z-test on request
//   and error counts;
// - latencies, which Prometheus only keeps as histograms: the Mann-Whitney U
//   test on the bucket counts, every observation of a bucket tied with the
//   others of that bucket (midranks, tie-corrected variance).
// Distributions are computed here from their series definitions (the
// regularized incomplete beta function by its continued fraction), not
// from a statistics package.

/** Standard normal cumulative distribution, by erfc (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = poly * Math.exp(-z * z);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

function logGamma(x: number): number {
  // Lanczos approximation, g = 7, n = 9 (coefficients of Godfrey's table).
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

// The continued fraction of the incomplete beta function, evaluated by the
// modified Lentz method.
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = Math.abs(d) < tiny ? tiny : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let term = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + term * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = 1 + term / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    h *= d * c;
    term = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + term * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = 1 + term / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-12) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast below the mean; above it, use I_x(a,b) = 1 - I_{1-x}(b,a).
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t value with two-sided tail probability `p` (for confidence intervals), by bisection. */
export function studentQuantile(p: number, df: number): number {
  let low = 0;
  let high = 1000;
  for (let i = 0; i < 200; i++) {
    const mid = (low + high) / 2;
    if (studentTwoSidedP(mid, df) > p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function variance(values: readonly number[], m: number): number {
  return values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1);
}

export interface WelchResult {
  test: "Welch's t-test";
  meanA: number;
  meanB: number;
  /** meanB - meanA. */
  difference: number;
  /** (meanB - meanA) / meanA. */
  relative: number;
  /** Half-width of the 95% confidence interval of `relative` (delta method). */
  relativeHalfWidth95: number;
  t: number;
  df: number;
  p: number;
}

/**
 * Welch's t-test of two samples with unequal variances; the degrees of
 * freedom by the Welch-Satterthwaite equation.
 *
 * @example
 * welchTTest([10, 11, 9, 10], [8, 8.5, 7.5, 8]).p; // < 0.01
 */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2)
    throw new RangeError("Welch's t-test needs at least two samples on each side");
  const meanA = mean(a);
  const meanB = mean(b);
  const seA2 = variance(a, meanA) / a.length;
  const seB2 = variance(b, meanB) / b.length;
  const se = Math.sqrt(seA2 + seB2);
  const difference = meanB - meanA;
  const t = se === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Infinity) : difference / se;
  const df =
    seA2 + seB2 === 0
      ? a.length + b.length - 2
      : (seA2 + seB2) ** 2 / (seA2 ** 2 / (a.length - 1) + seB2 ** 2 / (b.length - 1));
  const p = difference === 0 && se === 0 ? 1 : studentTwoSidedP(t, df);
  // Var(mB/mA) ~ seB^2/mA^2 + mB^2 seA^2 / mA^4.
  const relativeSe = Math.sqrt(seB2 / meanA ** 2 + (meanB ** 2 * seA2) / meanA ** 4);
  return {
    test: "Welch's t-test",
    meanA,
    meanB,
    difference,
    relative: difference / meanA,
    relativeHalfWidth95: studentQuantile(0.05, df) * relativeSe,
    t,
    df,
    p,
  };
}

export interface ProportionsResult {
  test: 'two-proportion z-test';
  rateA: number;
  rateB: number;
  /** rateB - rateA. */
  difference: number;
  /** Half-width of the 95% (Wald) confidence interval of the difference. */
  differenceHalfWidth95: number;
  z: number;
  p: number;
}

/**
 * The pooled two-proportion z-test: are `errorsB / totalB` and `errorsA /
 * totalA` the same rate?
 *
 * @example
 * twoProportionTest(5, 1000, 40, 1000).p; // < 0.001
 */
export function twoProportionTest(
  errorsA: number,
  totalA: number,
  errorsB: number,
  totalB: number,
): ProportionsResult {
  if (totalA <= 0 || totalB <= 0) throw new RangeError('the two-proportion test needs requests on each side');
  const rateA = errorsA / totalA;
  const rateB = errorsB / totalB;
  const pooled = (errorsA + errorsB) / (totalA + totalB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  const difference = rateB - rateA;
  const z = se === 0 ? 0 : difference / se;
  const waldSe = Math.sqrt((rateA * (1 - rateA)) / totalA + (rateB * (1 - rateB)) / totalB);
  return {
    test: 'two-proportion z-test',
    rateA,
    rateB,
    difference,
    differenceHalfWidth95: 1.959963984540054 * waldSe,
    z,
    p: se === 0 ? 1 : 2 * (1 - normalCdf(Math.abs(z))),
  };
}

export interface MannWhitneyResult {
  test: 'Mann-Whitney U';
  u: number;
  z: number;
  p: number;
  /** P(a B observation is larger than an A one) + half the ties: 0.5 when they are alike. */
  probabilityBGreater: number;
}

/**
 * The Mann-Whitney U test on grouped data: `countsA[i]` and `countsB[i]`
 * are the observations of each sample in ordered bin i (histogram buckets).
 * Observations of one bin are tied and share its midrank; the variance is
 * tie-corrected, and the normal approximation gives the p-value.
 *
 * @example
 * mannWhitneyBinned([50, 30, 20], [20, 30, 50]).p; // < 0.001: B's values are larger
 */
export function mannWhitneyBinned(countsA: readonly number[], countsB: readonly number[]): MannWhitneyResult {
  const nA = countsA.reduce((s, c) => s + c, 0);
  const nB = countsB.reduce((s, c) => s + c, 0);
  if (nA === 0 || nB === 0) throw new RangeError('the Mann-Whitney test needs observations on each side');
  const n = nA + nB;
  let below = 0;
  let rankSumB = 0;
  let ties = 0;
  for (let i = 0; i < countsA.length; i++) {
    const inBin = countsA[i] + countsB[i];
    const midrank = below + (inBin + 1) / 2;
    rankSumB += countsB[i] * midrank;
    ties += inBin ** 3 - inBin;
    below += inBin;
  }
  const u = rankSumB - (nB * (nB + 1)) / 2;
  const meanU = (nA * nB) / 2;
  const varianceU = ((nA * nB) / 12) * (n + 1 - ties / (n * (n - 1)));
  const z = varianceU === 0 ? 0 : (u - meanU) / Math.sqrt(varianceU);
  return {
    test: 'Mann-Whitney U',
    u,
    z,
    p: varianceU === 0 ? 1 : 2 * (1 - normalCdf(Math.abs(z))),
    probabilityBGreater: u / (nA * nB),
  };
}

/**
 * Holm's step-down correction: the p-values adjusted so that comparing each
 * to alpha keeps the chance of any false positive in the family below alpha.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (pValues.length - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
