import { resolveModelTarget } from '@alki/hub';
import os from 'node:os';
import { RuntimeError } from '../errors.js';
import { effectiveThreads } from '../serve/node-llama-engine.js';
import { DEFAULT_PROMPT } from './builtin-text.js';
import type { ModelReport } from './report.js';
import { runModelChecks, type WorkerRunOptions } from './run-worker.js';
import { checkGgufFile } from './structure.js';

export interface ValidateModelOptions extends WorkerRunOptions {
  /** Prompt of the short generation. */
  prompt?: string;
  /** Tokens to generate. Default 16. */
  maxTokens?: number;
  /** Context for the generation. Default 512. */
  contextSize?: number;
  /** CPU threads; capped at the core count. Default: the idle cores (see validationThreads). */
  threads?: number;
  /** Also score the built-in text (mean negative log-likelihood per token). */
  score?: boolean;
}

/**
 * The threads a validation uses when none are asked for: the cores that are
 * not already busy (the core count minus the 1-minute load average, rounded),
 * at least 1. ggml's threads spin while they wait for each other, so one
 * thread more than the idle cores costs far more than it brings: on a 2-core
 * machine at a load average of 17 to 20, one thread generated 30x (1 MiB
 * model) and 44x (100 MiB Q8_0) faster than two, and four were slower again
 * (tools/bench/validate-threads.ts). An idle machine gets every core.
 */
export function validationThreads(cores = os.availableParallelism(), loadAverage = os.loadavg()[0]): number {
  return Math.max(1, Math.min(cores, Math.round(cores - loadAverage)));
}

/**
 * Validates one GGUF file: a structural check of its header in this process,
 * then load, tokenizer round trip, chat template, a short generation and an
 * optional score in a child process. Failures are in the report, not thrown;
 * only a missing file or a broken environment throws.
 *
 * @example
 * const report = await validateGgufModel('model.gguf', { maxTokens: 8 });
 * if (!report.ok) console.error(report.checks.find((c) => c.status === 'fail')?.message);
 */
export async function validateGgufModel(
  file: string,
  options: ValidateModelOptions = {},
): Promise<ModelReport> {
  await resolveModelTarget(file, { accept: ['file'] });
  const maxTokens = options.maxTokens ?? 16;
  const contextSize = options.contextSize ?? 512;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new RuntimeError('INVALID_INPUT', `--max-tokens must be a positive integer; got ${maxTokens}.`);
  if (!Number.isInteger(contextSize) || contextSize < 16)
    throw new RuntimeError(
      'INVALID_INPUT',
      `--context-size must be an integer of at least 16; got ${contextSize}.`,
    );
  options.onCheck?.('structure');
  const structure = await checkGgufFile(file);
  if (structure.status === 'fail') return { file, ok: false, checks: [structure], metrics: {} };
  const outcome = await runModelChecks(
    {
      modelPath: file,
      prompt: options.prompt ?? DEFAULT_PROMPT,
      maxTokens,
      contextSize,
      threads: options.threads === undefined ? validationThreads() : effectiveThreads(options.threads),
      score: options.score ?? false,
    },
    options,
  );
  const missing = structure.details?.missingHyperparameters as string[] | undefined;
  // When llama.cpp aborts on load, name the missing keys the header check saw.
  const checks = [structure, ...outcome.checks].map((check) =>
    check.name === 'load' && check.status === 'fail' && missing
      ? { ...check, message: `${check.message} (the header lacks ${missing.join(', ')})` }
      : check,
  );
  return {
    file,
    ok: checks.every((c) => c.status !== 'fail'),
    checks,
    metrics: outcome.metrics,
    sample: outcome.sample,
  };
}
