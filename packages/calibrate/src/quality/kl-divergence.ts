// Quality of a quant against a reference model, per predicted token and over
// a text: KL divergence of the next-token distributions, top-1 agreement,
// and perplexity of both. The statistics follow llama.cpp's
// tools/perplexity/perplexity.cpp (`log_softmax` with a base, and the
// `kl_divergence` summary), so the figures compare with llama-perplexity's.

/**
 * Base log-probabilities below this are left out of the KL sum, as in
 * perplexity.cpp (`if (p_log_base > -16.f)`): they add less than e^-16 each,
 * and leaving them out keeps the stored reference small.
 */
export const BASE_LOG_PROB_FLOOR = -16;

/** The reference model's prediction at one position, keeping only the tokens that matter to KL. */
export interface BaseDistribution {
  /** Tokens with log-probability above BASE_LOG_PROB_FLOOR. */
  tokens: Uint32Array;
  logProbs: Float32Array;
  /** The most likely token. */
  top: number;
  /** -log p of the token that actually came next. */
  nll: number;
}

/** A full next-token distribution as probabilities by token id (node-llama-cpp gives a Map). */
export type Probabilities = ReadonlyMap<number, number>;

// A float probability of 0 (a logit more than ~103 below the best) still needs
// a finite logarithm; the smallest positive float stands for it.
const SMALLEST_FLOAT32 = 1.4e-45;

function logOf(probability: number | undefined): number {
  return Math.log(Math.max(probability ?? 0, SMALLEST_FLOAT32));
}

function argmax(probabilities: Probabilities): number {
  let best = -1;
  let bestProbability = -Infinity;
  for (const [token, probability] of probabilities) {
    if (probability > bestProbability || (probability === bestProbability && token < best)) {
      best = token;
      bestProbability = probability;
    }
  }
  return best;
}

/**
 * Keeps what the KL sum needs of the reference's distribution at one
 * position: tokens above the floor, the top token, and the next token's loss.
 *
 * @example
 * const base = baseDistribution(new Map([[5, 0.9], [6, 0.1]]), 5);
 */
export function baseDistribution(probabilities: Probabilities, next: number): BaseDistribution {
  const tokens: number[] = [];
  const logProbs: number[] = [];
  for (const [token, probability] of probabilities) {
    const logProb = logOf(probability);
    if (logProb > BASE_LOG_PROB_FLOOR) {
      tokens.push(token);
      logProbs.push(logProb);
    }
  }
  return {
    tokens: Uint32Array.from(tokens),
    logProbs: Float32Array.from(logProbs),
    top: argmax(probabilities),
    nll: -logOf(probabilities.get(next)),
  };
}

/** One position compared. */
export interface PositionScore {
  /** KL(base || quant) in nats. */
  kld: number;
  /** The quant's most likely token is the base's. */
  sameTop: boolean;
  /** -log q(next) and -log p(next). */
  nll: number;
  nllBase: number;
  /** q(next) - p(next). */
  pDiff: number;
}

/**
 * Compares the quant's distribution with the base's at one position.
 *
 * @example
 * const score = scorePosition(base, new Map([[5, 0.8], [6, 0.2]]), 5);
 * score.kld; // 0.9 ln(0.9/0.8) + 0.1 ln(0.1/0.2)
 */
export function scorePosition(base: BaseDistribution, quant: Probabilities, next: number): PositionScore {
  let kld = 0;
  for (let i = 0; i < base.tokens.length; i++) {
    const logP = base.logProbs[i];
    kld += Math.exp(logP) * (logP - logOf(quant.get(base.tokens[i])));
  }
  const nll = -logOf(quant.get(next));
  return {
    kld,
    sameTop: argmax(quant) === base.top,
    nll,
    nllBase: base.nll,
    pDiff: Math.exp(-nll) - Math.exp(-base.nll),
  };
}

/** A mean and its standard error. */
export interface Estimate {
  value: number;
  uncertainty: number;
}

/** Quality of a quant against the base over a whole text. */
export interface QualitySummary {
  /** Predictions compared. */
  tokens: number;
  perplexity: Estimate;
  perplexityBase: Estimate;
  /** ln(PPL(Q) / PPL(base)). */
  lnPerplexityRatio: Estimate;
  /** Mean KL divergence in nats, with its standard error. */
  kld: Estimate;
  kldMedian: number;
  kld99: number;
  kldMax: number;
  /** Share of positions where both models' most likely token is the same, 0..1. */
  top1Agreement: Estimate;
  /** Root mean square of q(next) - p(next), 0..1. */
  deltaPRms: number;
}

/** Perplexity of the base alone (no quant to compare). */
export interface PerplexitySummary {
  tokens: number;
  perplexity: Estimate;
}

// perplexity.cpp, kl_divergence(): mean_and_uncertainty.
function meanAndUncertainty(sum: number, sum2: number, count: number): Estimate {
  if (count < 1) return { value: 0, uncertainty: 0 };
  const mean = sum / count;
  const variance = sum2 / count - mean * mean;
  return { value: mean, uncertainty: variance > 0 && count > 10 ? Math.sqrt(variance / (count - 1)) : 0 };
}

function covariance(sumA: number, sumB: number, sumAB: number, count: number): number {
  if (count < 10) return 0;
  return (sumAB / count - (sumA / count) * (sumB / count)) / (count - 1);
}

// perplexity.cpp's percentile: linear interpolation between neighbours of the sorted values.
function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const at = fraction * (sorted.length - 1);
  const low = Math.floor(at);
  const high = Math.min(low + 1, sorted.length - 1);
  return (1 - (at - low)) * sorted[low] + (at - low) * sorted[high];
}

/**
 * Sums position scores into the statistics llama-perplexity prints at the
 * end of a `--kl-divergence` run.
 */
export class QualityAccumulator {
  private count = 0;
  private sumNll = 0;
  private sumNll2 = 0;
  private sumNllBase = 0;
  private sumNllBase2 = 0;
  private sumNllNllBase = 0;
  private sumKld = 0;
  private sumKld2 = 0;
  private sumPDiff2 = 0;
  private sameTop = 0;
  private readonly klds: number[] = [];

  add(score: PositionScore): void {
    this.count++;
    this.sumNll += score.nll;
    this.sumNll2 += score.nll * score.nll;
    this.sumNllBase += score.nllBase;
    this.sumNllBase2 += score.nllBase * score.nllBase;
    this.sumNllNllBase += score.nll * score.nllBase;
    this.sumKld += score.kld;
    this.sumKld2 += score.kld * score.kld;
    this.sumPDiff2 += score.pDiff * score.pDiff;
    if (score.sameTop) this.sameTop++;
    this.klds.push(score.kld);
  }

  summary(): QualitySummary {
    const n = this.count;
    const logPpl = meanAndUncertainty(this.sumNll, this.sumNll2, n);
    const logPplBase = meanAndUncertainty(this.sumNllBase, this.sumNllBase2, n);
    const cov = covariance(this.sumNll, this.sumNllBase, this.sumNllNllBase, n);
    const ratioUncertainty = Math.sqrt(
      Math.max(0, logPpl.uncertainty ** 2 + logPplBase.uncertainty ** 2 - 2 * cov),
    );
    const top = n > 0 ? this.sameTop / n : 0;
    const sorted = [...this.klds].sort((a, b) => a - b);
    const pplValue = Math.exp(logPpl.value);
    const pplBaseValue = Math.exp(logPplBase.value);
    return {
      tokens: n,
      perplexity: { value: pplValue, uncertainty: pplValue * logPpl.uncertainty },
      perplexityBase: { value: pplBaseValue, uncertainty: pplBaseValue * logPplBase.uncertainty },
      lnPerplexityRatio: { value: logPpl.value - logPplBase.value, uncertainty: ratioUncertainty },
      kld: meanAndUncertainty(this.sumKld, this.sumKld2, n),
      kldMedian: percentile(sorted, 0.5),
      kld99: percentile(sorted, 0.99),
      kldMax: sorted.at(-1) ?? 0,
      top1Agreement: { value: top, uncertainty: n > 1 ? Math.sqrt((top * (1 - top)) / (n - 1)) : 0 },
      deltaPRms: n > 0 ? Math.sqrt(this.sumPDiff2 / n) : 0,
    };
  }
}

/** Perplexity from per-token losses, with llama-perplexity's uncertainty (its "Final estimate"). */
export function perplexityOf(nlls: readonly number[]): PerplexitySummary {
  let sum = 0;
  let sum2 = 0;
  for (const nll of nlls) {
    sum += nll;
    sum2 += nll * nll;
  }
  const log = meanAndUncertainty(sum, sum2, nlls.length);
  const value = Math.exp(log.value);
  return { tokens: nlls.length, perplexity: { value, uncertainty: value * log.uncertainty } };
}
