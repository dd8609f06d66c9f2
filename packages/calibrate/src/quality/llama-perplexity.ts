// llama.cpp's llama-perplexity as the quality engine: the base model's run
// writes its log-probabilities (--kl-divergence-base FILE) and prints its
// perplexity; each quant's run (--kl-divergence) compares against the file
// and prints the statistics that QualityAccumulator computes for the
// node-llama-cpp engine. Output formats are those of
// tools/perplexity/perplexity.cpp (`perplexity()` and `kl_divergence()`).
import { CalibrateError } from '../errors.js';
import { failureReason, runTool, type CommandWrapper } from '../process/run-tool.js';
import type { PerplexitySummary, QualitySummary } from './kl-divergence.js';

/** What a run reports besides the quality figures. */
export interface ToolRunFacts {
  /**
   * Time from the tool's start until the model was ready to evaluate (load,
   * context, warm-up decode), by the tool's own log clock.
   */
  loadMs?: number;
  peakRssBytes?: number;
  wallMs: number;
}

export interface LlamaPerplexityOptions {
  binary: string;
  model: string;
  textFile: string;
  /** Context of each window (-c). */
  nCtx: number;
  threads: number;
  /** Windows to evaluate at most (--chunks); all by default. */
  chunks?: number;
  baseFile: string;
  signal?: AbortSignal;
  wrap?: CommandWrapper;
  /** Called with each window's progress: done, total. */
  onChunk?: (done: number, total: number) => void;
}

function number(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function estimate(output: string, label: RegExp): { value: number; uncertainty: number } | undefined {
  const match = new RegExp(`${label.source}\\s*:\\s*(-?[\\d.]+)\\s*±\\s*([\\d.]+)`, 'm').exec(output);
  return match ? { value: Number(match[1]), uncertainty: Number(match[2]) } : undefined;
}

function single(output: string, label: RegExp): number | undefined {
  return number(new RegExp(`${label.source}\\s*:\\s*(-?[\\d.]+)`, 'm').exec(output)?.[1]);
}

/**
 * When the model was ready: the log timestamp (minutes.seconds.ms.us since
 * the tool started, common/log.cpp) of the line perplexity.cpp prints just
 * after loading and warming up, before it tokenizes the text.
 */
export function parseLoadMs(output: string): number | undefined {
  const match = /^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) I \w+: tokenizing the input/m.exec(output);
  if (!match) return undefined;
  const [minutes, seconds, ms, us] = match.slice(1).map(Number);
  return minutes * 60_000 + seconds * 1000 + ms + us / 1000;
}

/** Windows and context from "computing over N chunks, n_ctx=C" (either mode). */
function scoredTokens(output: string): number | undefined {
  const match = /over (\d+) chunks, n_ctx=(\d+)/.exec(output);
  if (!match) return undefined;
  const nCtx = Number(match[2]);
  return Number(match[1]) * (nCtx - 1 - Math.floor(nCtx / 2));
}

/**
 * The perplexity a plain run prints ("Final estimate: PPL = 13.5106 +/- 0.09").
 *
 * @example
 * parsePerplexityRun('... Final estimate: PPL = 306.6328 +/- 10.62825').perplexity.value; // 306.6328
 */
export function parsePerplexityRun(output: string): PerplexitySummary {
  const match = /Final estimate: PPL = ([\d.]+) \+\/- ([\d.]+)/.exec(output);
  if (!match) {
    throw new CalibrateError(
      'MEASUREMENT_FAILED',
      `llama-perplexity printed no final estimate: ${failureReason(output)}`,
    );
  }
  return {
    tokens: scoredTokens(output) ?? 0,
    perplexity: { value: Number(match[1]), uncertainty: Number(match[2]) },
  };
}

/**
 * The statistics a `--kl-divergence` run prints at the end (perplexity.cpp
 * prints them only from 100 compared tokens on).
 *
 * @example
 * const summary = parseKlDivergenceRun(output);
 * summary.kld.value; summary.top1Agreement.value;
 */
export function parseKlDivergenceRun(output: string): QualitySummary {
  const perplexity = estimate(output, /Mean PPL\(Q\)/);
  const perplexityBase = estimate(output, /Mean PPL\(base\)/);
  const ratio = estimate(output, /Mean ln\(PPL\(Q\)\/PPL\(base\)\)/);
  const kld = estimate(output, /Mean\s+KLD/);
  const sameTop = /Same top p\s*:\s*([\d.]+)\s*±\s*([\d.]+)\s*%/.exec(output);
  const rms = /RMS Δp\s*:\s*([\d.]+)\s*±/.exec(output);
  if (!perplexity || !perplexityBase || !ratio || !kld || !sameTop || !rms) {
    throw new CalibrateError(
      'MEASUREMENT_FAILED',
      `llama-perplexity printed no KL divergence statistics: ${failureReason(output)}`,
      {
        hint: 'It prints them from 100 compared tokens on: give a longer --text or a larger --quality-context.',
      },
    );
  }
  return {
    tokens: scoredTokens(output) ?? 0,
    perplexity,
    perplexityBase,
    lnPerplexityRatio: ratio,
    kld,
    kldMedian: single(output, /Median\s+KLD/) ?? kld.value,
    kld99: single(output, /99\.0%\s+KLD/) ?? kld.value,
    kldMax: single(output, /Maximum KLD/) ?? kld.value,
    top1Agreement: { value: Number(sameTop[1]) / 100, uncertainty: Number(sameTop[2]) / 100 },
    deltaPRms: Number(rms[1]) / 100,
  };
}

function baseArgs(options: LlamaPerplexityOptions): string[] {
  return [
    '-m',
    options.model,
    '-f',
    options.textFile,
    '-c',
    String(options.nCtx),
    // One window per batch: several windows in one batch share a KV cache
    // that every token attends over (masked), which is slower on a CPU.
    '-b',
    String(options.nCtx),
    '-t',
    String(options.threads),
    ...(options.chunks !== undefined ? ['--chunks', String(options.chunks)] : []),
    '--kl-divergence-base',
    options.baseFile,
    '--log-timestamps',
  ];
}

/**
 * llama.cpp's tools log through a queue that a thread drains, and nothing
 * drains it at exit (common/log.cpp, common_log_main: "this design may cause
 * logs to be lost if not flushed before the program exits", llama.cpp issue
 * 22142). On a busy machine the end of the output, with the statistics, is
 * sometimes lost although the run succeeded. Such a run is repeated.
 */
const ATTEMPTS = 3;

async function run(
  options: LlamaPerplexityOptions,
  args: string[],
  complete: (output: string) => boolean,
): Promise<{ output: string; facts: ToolRunFacts; code: number | null }> {
  for (let attempt = 1; ; attempt++) {
    const result = await runOnce(options, args);
    if (result.code !== 0 || complete(result.output) || attempt === ATTEMPTS) return result;
  }
}

async function runOnce(
  options: LlamaPerplexityOptions,
  args: string[],
): Promise<{ output: string; facts: ToolRunFacts; code: number | null }> {
  const lines: string[] = [];
  let done = 0;
  let total = 0;
  const result = await runTool(options.binary, args, {
    signal: options.signal,
    wrap: options.wrap,
    onLine: (line) => {
      lines.push(line);
      const over = /over (\d+) chunks/.exec(line);
      if (over) total = Number(over[1]);
      // Progress: base runs print "[3]301.9,", compare runs one row per window.
      const windows = line.match(/\[\d+\][\d.]+,/g)?.length ?? (/^\s*\d+\s+[\d.]+ ±/.test(line) ? 1 : 0);
      if (windows > 0 && total > 0) {
        done = Math.min(total, done + windows);
        options.onChunk?.(done, total);
      }
    },
  });
  const output = lines.join('\n');
  return {
    output,
    code: result.code,
    facts: { loadMs: parseLoadMs(output), wallMs: result.wallMs, peakRssBytes: result.peakRssBytes },
  };
}

function failed(options: LlamaPerplexityOptions, output: string, code: number | null): CalibrateError {
  return new CalibrateError(
    'MEASUREMENT_FAILED',
    `llama-perplexity failed on ${options.model} (exit ${code}): ${failureReason(output)}`,
    { details: { model: options.model, exitCode: code } },
  );
}

/**
 * Runs the reference model: writes its log-probabilities to `baseFile` and
 * returns its perplexity on the text.
 *
 * @example
 * const base = await runPerplexityBase({ binary, model: 'f16.gguf', textFile, nCtx: 512, threads: 4, baseFile });
 */
export async function runPerplexityBase(
  options: LlamaPerplexityOptions,
): Promise<{ summary: PerplexitySummary; facts: ToolRunFacts }> {
  const { output, facts, code } = await run(options, baseArgs(options), (text) =>
    text.includes('Final estimate'),
  );
  if (code !== 0) throw failed(options, output, code);
  return { summary: parsePerplexityRun(output), facts };
}

/**
 * Runs a model over the text and has llama-perplexity write its
 * log-probabilities to `baseFile` (its `--kl-divergence-base` output), which
 * logits-file.ts reads: the figures come from the file, not from the log's
 * last lines, which llama.cpp can lose at exit. Only the exit status and
 * the file count.
 *
 * @example
 * const { facts } = await runLogits({ binary, model: 'q4.gguf', textFile, nCtx: 512, threads: 4, baseFile: 'q4.logits' });
 */
export async function runLogits(options: LlamaPerplexityOptions): Promise<{ facts: ToolRunFacts }> {
  const { output, facts, code } = await runOnce(options, baseArgs(options));
  if (code !== 0) throw failed(options, output, code);
  return { facts };
}

/**
 * Runs one quant against the reference file and returns the KL divergence,
 * top-1 agreement and perplexity statistics.
 *
 * @example
 * const { summary } = await runKlDivergence({ binary, model: 'q4.gguf', textFile, nCtx: 512, threads: 4, baseFile });
 */
export async function runKlDivergence(
  options: LlamaPerplexityOptions,
): Promise<{ summary: QualitySummary; facts: ToolRunFacts }> {
  const { output, facts, code } = await run(options, [...baseArgs(options), '--kl-divergence'], (text) =>
    text.includes('Same top p:'),
  );
  if (code !== 0) throw failed(options, output, code);
  return { summary: parseKlDivergenceRun(output), facts };
}
