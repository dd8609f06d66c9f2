// Picks the quant, context size, threads and batch a device should run, from
// measurements and constraints. Pure: plain data in, plain data out, every
// choice and every rejection with its reason.
import { fastest, type SpeedSample } from '../speed/speed.js';

/** What the user requires. Every field is optional. */
export interface Constraints {
  /** Memory the server may use, in bytes; the device's usable memory applies in any case. */
  maxMemoryBytes?: number;
  /** Generation speed the device must reach. */
  minTokensPerSecond?: number;
  /** The context the application needs, in tokens; when absent, the largest that fits is chosen. */
  context?: number;
  /** The largest mean KL divergence from the reference model accepted, in nats. */
  maxKld?: number;
}

/** One quant, as measured. */
export interface CandidateInput {
  quant: string;
  sizeBytes: number;
  /** The reference every other quant is compared with (its KL is 0 by definition). */
  isBase: boolean;
  /** Mean KL divergence from the base, in nats; absent when quality was not measured. */
  kld?: number;
  top1Agreement?: number;
  samples: SpeedSample[];
  /** Memory a server needs to run this quant at a context size, in bytes. */
  memoryAt: (context: number) => number;
}

export interface RecommendInput {
  candidates: CandidateInput[];
  constraints: Constraints;
  /** Memory the device can give the server (the probe's usable memory). */
  deviceMemoryBytes: number;
  /** The model's trained context length; 0 when unknown. */
  trainedContext: number;
}

export type ConstraintName = 'max-memory' | 'device-memory' | 'min-tokens-per-second' | 'context' | 'max-kl';

/** An option that was not taken, and why. */
export interface Rejection {
  /** What was rejected: a quant (`Q8_0`) or a quant at a context size (`Q4_K_M at 32768 tokens`). */
  option: string;
  constraint: ConstraintName;
  reason: string;
}

export interface Recommendation {
  quant: string;
  context: number;
  threads: number;
  batch: number;
  /** What the choice gives, as measured. */
  expected: {
    generationTokensPerSecond: number;
    promptTokensPerSecond: number;
    memoryBytes: number;
    kld?: number;
    top1Agreement?: number;
  };
  /** Sentences saying why each part was chosen. */
  reasons: string[];
}

export interface RecommendResult {
  /** Absent when no quant meets every constraint. */
  recommendation?: Recommendation;
  rejected: Rejection[];
}

/** The context sizes tried when none is required: powers of two up to this. */
export const MAX_AUTO_CONTEXT = 32768;
/** The smallest context considered when none is required. */
const MIN_AUTO_CONTEXT = 256;

const GIB = 1024 ** 3;
function size(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

function rate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** Context sizes to try: the required one, or powers of two from 256 to the trained length (largest first). */
function contextOptions(input: RecommendInput): number[] {
  if (input.constraints.context !== undefined) return [input.constraints.context];
  const ceiling = Math.min(input.trainedContext > 0 ? input.trainedContext : 4096, MAX_AUTO_CONTEXT);
  const options = new Set<number>([ceiling]);
  for (let c = MIN_AUTO_CONTEXT; c < ceiling; c *= 2) options.add(c);
  return [...options].sort((a, b) => b - a);
}

/**
 * Chooses what to run. A quant is rejected when its KL divergence is over
 * `maxKld`, its best generation speed under `minTokensPerSecond`, or it does
 * not fit the memory budget (the smaller of `maxMemoryBytes` and the device's
 * usable memory) at the required context. Of the quants left, the fastest
 * generator wins (ties: the better quality); its context is the required one,
 * or else the largest power of two up to the trained length that fits; its
 * threads and batch are the fastest measured.
 *
 * @example
 * const { recommendation, rejected } = recommend({ candidates, constraints: { maxKld: 0.05 }, deviceMemoryBytes: 8 * 2 ** 30, trainedContext: 4096 });
 */
export function recommend(input: RecommendInput): RecommendResult {
  const { constraints } = input;
  const rejected: Rejection[] = [];
  const budget = Math.min(constraints.maxMemoryBytes ?? Infinity, input.deviceMemoryBytes);
  const budgetName: ConstraintName =
    constraints.maxMemoryBytes !== undefined && constraints.maxMemoryBytes <= input.deviceMemoryBytes
      ? 'max-memory'
      : 'device-memory';
  const budgetText =
    budgetName === 'max-memory'
      ? `--max-memory ${size(budget)}`
      : `the ${size(budget)} this device has available`;
  const contexts = contextOptions(input);
  if (
    constraints.context !== undefined &&
    input.trainedContext > 0 &&
    constraints.context > input.trainedContext
  ) {
    for (const candidate of input.candidates) {
      rejected.push({
        option: candidate.quant,
        constraint: 'context',
        reason: `the model was trained on ${input.trainedContext} tokens, fewer than --context ${constraints.context}`,
      });
    }
    return { rejected };
  }

  const accepted: Array<{ candidate: CandidateInput; context: number; generation: SpeedSample }> = [];
  for (const candidate of input.candidates) {
    const kld = candidate.isBase ? 0 : candidate.kld;
    if (constraints.maxKld !== undefined && kld !== undefined && kld > constraints.maxKld) {
      rejected.push({
        option: candidate.quant,
        constraint: 'max-kl',
        reason: `KL divergence ${kld.toFixed(4)} nats is over --max-kl ${constraints.maxKld}`,
      });
      continue;
    }
    const generation = fastest(candidate.samples, 'generation');
    if (!generation) continue;
    if (
      constraints.minTokensPerSecond !== undefined &&
      generation.tokensPerSecond < constraints.minTokensPerSecond
    ) {
      rejected.push({
        option: candidate.quant,
        constraint: 'min-tokens-per-second',
        reason: `generates ${rate(generation.tokensPerSecond)} tokens/s at best (${generation.threads} threads), under --min-tokens-per-second ${constraints.minTokensPerSecond}`,
      });
      continue;
    }
    const fits = contexts.find((context) => candidate.memoryAt(context) <= budget);
    if (fits === undefined) {
      const smallest = contexts.at(-1)!;
      rejected.push({
        option: candidate.quant,
        constraint: budgetName,
        reason: `needs ${size(candidate.memoryAt(smallest))} at ${smallest} tokens of context, more than ${budgetText}`,
      });
      continue;
    }
    accepted.push({ candidate, context: fits, generation });
  }
  if (accepted.length === 0) return { rejected };

  accepted.sort(
    (a, b) =>
      b.generation.tokensPerSecond - a.generation.tokensPerSecond ||
      (a.candidate.isBase ? 0 : (a.candidate.kld ?? Infinity)) -
        (b.candidate.isBase ? 0 : (b.candidate.kld ?? Infinity)),
  );
  const [best, ...others] = accepted;
  const { candidate, context, generation } = best;
  // Larger contexts of the chosen quant that did not fit are options too.
  for (const larger of contexts.filter((c) => c > context)) {
    rejected.push({
      option: `${candidate.quant} at ${larger} tokens`,
      constraint: budgetName,
      reason: `needs ${size(candidate.memoryAt(larger))}, more than ${budgetText}`,
    });
  }
  const prompt =
    fastest(candidate.samples, 'prompt', generation.threads) ?? fastest(candidate.samples, 'prompt');
  const batch = Math.min(prompt?.batch ?? generation.batch, context);
  const kld = candidate.isBase ? 0 : candidate.kld;
  const reasons = [
    others.length
      ? `${candidate.quant} generates fastest (${rate(generation.tokensPerSecond)} tokens/s) of the ${accepted.length} quants that meet every constraint (${others.map((o) => `${o.candidate.quant} ${rate(o.generation.tokensPerSecond)}`).join(', ')}).`
      : `${candidate.quant} is the only quant that meets every constraint (${rate(generation.tokensPerSecond)} tokens/s).`,
    kld === undefined
      ? 'Its quality was not measured.'
      : candidate.isBase
        ? `It is the reference model itself: no quality lost to quantization.`
        : `Its mean KL divergence from the reference is ${kld.toFixed(4)} nats${candidate.top1Agreement !== undefined ? `, and it picks the same top token ${(candidate.top1Agreement * 100).toFixed(1)}% of the time` : ''}.`,
    constraints.context !== undefined
      ? `Context ${context} tokens, as required; it needs ${size(candidate.memoryAt(context))} of ${budgetText}.`
      : `Context ${context} tokens: the largest ${input.trainedContext > 0 ? `up to the trained ${input.trainedContext} ` : ''}that fits ${budgetText} (${size(candidate.memoryAt(context))}).`,
    `${generation.threads} thread${generation.threads === 1 ? '' : 's'}: the fastest generation measured${generation.threads > 1 || !candidate.samples.some((s) => s.threads > 1) ? '' : ' (more threads were slower here)'}.`,
    `Batch ${batch}: ${prompt ? `prompt processing at ${rate(prompt.tokensPerSecond)} tokens/s` : 'the one measured'}${batch < (prompt?.batch ?? batch) ? ', capped at the context' : ''}.`,
  ];
  return {
    recommendation: {
      quant: candidate.quant,
      context,
      threads: generation.threads,
      batch,
      expected: {
        generationTokensPerSecond: generation.tokensPerSecond,
        promptTokensPerSecond: prompt?.tokensPerSecond ?? 0,
        memoryBytes: candidate.memoryAt(context),
        ...(kld !== undefined ? { kld } : {}),
        ...(candidate.top1Agreement !== undefined ? { top1Agreement: candidate.top1Agreement } : {}),
      },
      reasons,
    },
    rejected,
  };
}
