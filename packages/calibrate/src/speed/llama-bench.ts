// llama.cpp's llama-bench as the speed engine. `-o jsonl` prints one JSON
// object per finished test (tools/llama-bench/llama-bench.cpp,
// jsonl_printer), so progress is known as it runs.
import { CalibrateError } from '../errors.js';
import { failureReason, runTool, type CommandWrapper } from '../process/run-tool.js';
import type { SpeedMeasurement, SpeedPlan, SpeedSample } from './speed.js';

export interface LlamaBenchOptions {
  binary: string;
  model: string;
  plan: SpeedPlan;
  signal?: AbortSignal;
  wrap?: CommandWrapper;
  /** Called after each finished test: done, total. */
  onTest?: (done: number, total: number) => void;
}

interface BenchLine {
  n_prompt: number;
  n_gen: number;
  n_threads: number;
  n_batch: number;
  avg_ts: number;
  stddev_ts: number;
}

/**
 * Turns llama-bench's `-o jsonl` output into samples: a test with n_gen 0 is
 * prompt processing, one with n_prompt 0 generation.
 *
 * @example
 * parseLlamaBenchJsonl('{"n_prompt":64,"n_gen":0,"n_threads":2,"n_batch":64,"avg_ts":3554.0,"stddev_ts":53.1}');
 */
export function parseLlamaBenchJsonl(text: string): SpeedSample[] {
  const samples: SpeedSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    const test = JSON.parse(line) as BenchLine;
    samples.push({
      kind: test.n_gen > 0 ? 'generation' : 'prompt',
      threads: test.n_threads,
      batch: test.n_batch,
      tokensPerSecond: test.avg_ts,
      stddev: test.stddev_ts,
    });
  }
  return samples;
}

/** llama-bench's arguments for a plan. */
export function llamaBenchArgs(model: string, plan: SpeedPlan): string[] {
  const batches = plan.batches.join(',');
  return [
    '-m',
    model,
    '-p',
    String(plan.promptTokens),
    '-n',
    String(plan.generatedTokens),
    '-d',
    String(plan.depth),
    '-t',
    plan.threads.join(','),
    '-b',
    batches,
    '-ub',
    batches,
    '-r',
    String(plan.repetitions),
    '-o',
    'jsonl',
  ];
}

/**
 * Measures one model with llama-bench: prompt and generation speed for every
 * thread count and batch of the plan, and the process's peak memory.
 *
 * @example
 * const speed = await runLlamaBench({ binary, model: 'q4.gguf', plan: { threads: [1, 2], batches: [512], promptTokens: 512, generatedTokens: 64, depth: 0, repetitions: 3 } });
 */
export async function runLlamaBench(options: LlamaBenchOptions): Promise<SpeedMeasurement> {
  const { plan } = options;
  // llama-bench runs the batch list against prompt tests only; generation runs once per batch value too.
  const total = plan.threads.length * plan.batches.length * 2;
  let done = 0;
  const run = await runTool(options.binary, llamaBenchArgs(options.model, plan), {
    signal: options.signal,
    wrap: options.wrap,
    onLine: (line, stream) => {
      if (stream === 'stdout' && line.startsWith('{')) options.onTest?.(++done, total);
    },
  });
  if (run.code !== 0) {
    throw new CalibrateError(
      'MEASUREMENT_FAILED',
      `llama-bench failed on ${options.model} (exit ${run.code ?? run.signal}): ${failureReason(run.stderrTail)}`,
      { details: { model: options.model, exitCode: run.code, signal: run.signal } },
    );
  }
  return {
    engine: 'llama-bench',
    promptTokens: plan.promptTokens,
    generatedTokens: plan.generatedTokens,
    depth: plan.depth,
    repetitions: plan.repetitions,
    samples: parseLlamaBenchJsonl(run.stdout),
    ...(run.peakRssBytes !== undefined ? { peakRssBytes: run.peakRssBytes } : {}),
    wallMs: run.wallMs,
  };
}
