/** Which program measured speed. */
export type SpeedEngine = 'llama-bench' | 'node-llama-cpp';

/** One measured configuration. */
export interface SpeedSample {
  kind: 'prompt' | 'generation';
  threads: number;
  batch: number;
  tokensPerSecond: number;
  /** Standard deviation over the repetitions. */
  stddev: number;
}

/** Speed of one model on this machine. */
export interface SpeedMeasurement {
  engine: SpeedEngine;
  /** Prompt tokens processed per prompt test, and tokens generated per generation test. */
  promptTokens: number;
  generatedTokens: number;
  /** Tokens already in the context when generation is timed (llama-bench -d). */
  depth: number;
  repetitions: number;
  samples: SpeedSample[];
  /** Model load time, when the engine reports it. */
  loadMs?: number;
  /** Peak resident memory of the benchmark process. */
  peakRssBytes?: number;
  wallMs: number;
}

/** What to measure. */
export interface SpeedPlan {
  threads: number[];
  batches: number[];
  promptTokens: number;
  generatedTokens: number;
  depth: number;
  repetitions: number;
}

/**
 * Thread counts worth trying on `cores` cores: 1, the powers of two below,
 * cores - 1 and cores itself. More threads than cores is never tried: on a
 * busy machine spinning threads make llama.cpp far slower (FACTS: 4 threads
 * on 2 cores took 6 s for 20 tokens against 8 ms).
 *
 * @example
 * candidateThreads(8); // [1, 2, 4, 7, 8]
 */
export function candidateThreads(cores: number): number[] {
  const counts = new Set<number>([1]);
  for (let t = 2; t < cores; t *= 2) counts.add(t);
  if (cores > 2) counts.add(cores - 1);
  counts.add(Math.max(1, cores));
  return [...counts].sort((a, b) => a - b);
}

/** The fastest sample of a kind, optionally at a given thread count; ties go to fewer threads. */
export function fastest(
  samples: readonly SpeedSample[],
  kind: SpeedSample['kind'],
  threads?: number,
): SpeedSample | undefined {
  let best: SpeedSample | undefined;
  for (const sample of samples) {
    if (sample.kind !== kind || (threads !== undefined && sample.threads !== threads)) continue;
    if (
      !best ||
      sample.tokensPerSecond > best.tokensPerSecond ||
      (sample.tokensPerSecond === best.tokensPerSecond && sample.threads < best.threads)
    )
      best = sample;
  }
  return best;
}
