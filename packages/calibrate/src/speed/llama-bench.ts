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
  model_filename?: string;
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

/** llama-bench's arguments for a plan, over one model or several (one -m each). */
export function llamaBenchArgs(model: string | string[], plan: SpeedPlan): string[] {
  const batches = plan.batches.join(',');
  return [
    ...(Array.isArray(model) ? model : [model]).flatMap((file) => ['-m', file]),
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
  const { model, ...rest } = options;
  const [speed] = await runLlamaBenchModels({ ...rest, models: [model] });
  return speed;
}

/**
 * Measures several models in one llama-bench process, as a person would run
 * it (one process start, and each model loaded once, in turn: llama-bench's
 * outermost loop is the model). Each model's peak memory is the largest
 * resident size sampled while its tests ran (every 20 ms, and as each of
 * its test lines arrives): a timed sample belongs to the model of the next
 * test line, since a model is loaded after the previous one's last test and
 * freed before the next one loads.
 *
 * @example
 * const [q8, q4] = await runLlamaBenchModels({ binary, models: ['q8.gguf', 'q4.gguf'], plan });
 */
export async function runLlamaBenchModels(
  options: Omit<LlamaBenchOptions, 'model'> & { models: string[] },
): Promise<SpeedMeasurement[]> {
  const { plan, models } = options;
  // llama-bench runs the batch list against prompt tests only; generation runs once per batch value too.
  const total = models.length * plan.threads.length * plan.batches.length * 2;
  const started = performance.now();
  const memory: Array<{ at: number; rss: number }> = [];
  const lines: Array<{ at: number; model: number; rss?: number }> = [];
  const run = await runTool(options.binary, llamaBenchArgs(models, plan), {
    signal: options.signal,
    wrap: options.wrap,
    // Often enough that a small model's few tests still get samples of their own.
    memoryPollMs: models.length > 1 ? 20 : undefined,
    onMemory: (rss) => memory.push({ at: performance.now(), rss }),
    // A reading at each test's line as well: llama-bench prints it with that model loaded and
    // its weights touched, and the model's next test runs while the line is read.
    rssOnLine: models.length > 1,
    onLine: (line, stream, rss) => {
      if (stream !== 'stdout' || !line.startsWith('{')) return;
      const file = (JSON.parse(line) as BenchLine).model_filename;
      lines.push({ at: performance.now(), model: Math.max(0, models.indexOf(file ?? '')), rss });
      options.onTest?.(lines.length, total);
    },
  });
  if (run.code !== 0) {
    throw new CalibrateError(
      'MEASUREMENT_FAILED',
      `llama-bench failed on ${models.join(', ')} (exit ${run.code ?? run.signal}): ${failureReason(run.stderrTail)}`,
      { details: { models, exitCode: run.code, signal: run.signal } },
    );
  }
  const testLines = run.stdout.split('\n').filter((line) => line.trim().startsWith('{'));
  return models.map((model, index) => {
    const own = testLines.filter((line) => (JSON.parse(line) as BenchLine).model_filename === model);
    const mine = lines.filter((line) => line.model === index);
    const from = lines.filter((line) => line.model < index).at(-1)?.at ?? started;
    const to = mine.at(-1)?.at ?? from;
    let peak: number | undefined;
    for (const sample of memory) {
      const owner = lines.find((line) => line.at >= sample.at)?.model;
      if (owner === index && (peak === undefined || sample.rss > peak)) peak = sample.rss;
    }
    // Not at its last line: by the time that is read, the next model may be loading.
    for (const line of mine.slice(0, -1))
      if (line.rss !== undefined && (peak === undefined || line.rss > peak)) peak = line.rss;
    // One model alone: the process's own high-water mark, which no sample can miss.
    if (models.length === 1) peak = run.peakRssBytes ?? peak;
    return {
      engine: 'llama-bench',
      promptTokens: plan.promptTokens,
      generatedTokens: plan.generatedTokens,
      depth: plan.depth,
      repetitions: plan.repetitions,
      samples: parseLlamaBenchJsonl((models.length === 1 ? testLines : own).join('\n')),
      ...(peak !== undefined ? { peakRssBytes: peak } : {}),
      wallMs: models.length === 1 ? run.wallMs : to - from,
    };
  });
}
