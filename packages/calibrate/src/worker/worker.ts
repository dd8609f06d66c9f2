// The node-llama-cpp child. llama.cpp aborts the whole process on some broken
// models (GGML_ASSERT), and peak memory is only meaningful per process, so
// each model is measured in a child of its own: this file.
import {
  getLlama,
  LlamaLogLevel,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { open, readFile } from 'node:fs/promises';
import { decodeBaseFile, encodeBaseHeader, encodeBasePosition } from '../quality/base-file.js';
import { perplexityChunks } from '../quality/chunks.js';
import {
  baseDistribution,
  perplexityOf,
  QualityAccumulator,
  scorePosition,
  type Probabilities,
} from '../quality/kl-divergence.js';
import type { SpeedSample } from '../speed/speed.js';
import type { WorkerMessage, WorkerTask } from './protocol.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function load(model: string, threads: number): Promise<{ model: LlamaModel; loadMs: number }> {
  const started = performance.now();
  // maxThreads caps every context's threads (FACTS: the default of 4 on 2 cores is ~100x slower).
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    logLevel: LlamaLogLevel.error,
    maxThreads: threads,
  });
  const loaded = await llama.loadModel({ modelPath: model });
  return { model: loaded, loadMs: performance.now() - started };
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function stats(values: number[]): { mean: number; stddev: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, stddev: Math.sqrt(variance) };
}

function cycle(tokens: Token[], length: number): Token[] {
  return Array.from({ length }, (_, i) => tokens[i % tokens.length]);
}

// As llama-bench does (test_prompt, test_gen): `depth` tokens first, untimed;
// then the prompt in one evaluation, or `count` tokens decoded one at a time.
async function timedPrompt(sequence: LlamaContextSequence, depth: Token[], prompt: Token[]): Promise<number> {
  await sequence.clearHistory();
  if (depth.length) await sequence.evaluateWithoutGeneratingNewTokens(depth);
  const started = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  return prompt.length / ((performance.now() - started) / 1000);
}

async function timedGeneration(
  sequence: LlamaContextSequence,
  depth: Token[],
  first: Token,
  count: number,
): Promise<number> {
  await sequence.clearHistory();
  if (depth.length) await sequence.evaluateWithoutGeneratingNewTokens(depth);
  const started = performance.now();
  let generated = 0;
  for await (const token of sequence.evaluate([first], { temperature: 0 })) {
    void token;
    if (++generated >= count) break;
  }
  return generated / ((performance.now() - started) / 1000);
}

async function speed(task: Extract<WorkerTask, { kind: 'speed' }>): Promise<void> {
  const started = performance.now();
  const { plan } = task;
  const { model, loadMs } = await load(task.model, Math.max(...plan.threads));
  const text = model.tokenize(await readFile(task.textFile, 'utf8'));
  const prompt = cycle(text, plan.promptTokens);
  const depth = cycle(text, plan.depth);
  const samples: SpeedSample[] = [];
  const total = plan.threads.length * plan.batches.length * 2;
  for (const batch of plan.batches) {
    for (const threads of plan.threads) {
      const context = await model.createContext({
        contextSize: plan.depth + Math.max(plan.promptTokens, plan.generatedTokens + 1) + 16,
        batchSize: batch,
        threads,
        sequences: 1,
      });
      try {
        const sequence = context.getSequence();
        const promptRates: number[] = [];
        const genRates: number[] = [];
        // One untimed round first, as llama-bench's warm-up.
        await timedPrompt(sequence, depth, prompt.slice(0, Math.min(prompt.length, batch)));
        for (let r = 0; r < plan.repetitions; r++)
          promptRates.push(await timedPrompt(sequence, depth, prompt));
        await send({ type: 'progress', done: samples.length + 1, total });
        for (let r = 0; r < plan.repetitions; r++)
          genRates.push(await timedGeneration(sequence, depth, text[0], plan.generatedTokens));
        const p = stats(promptRates);
        const g = stats(genRates);
        samples.push({ kind: 'prompt', threads, batch, tokensPerSecond: p.mean, stddev: p.stddev });
        samples.push({ kind: 'generation', threads, batch, tokensPerSecond: g.mean, stddev: g.stddev });
        await send({ type: 'progress', done: samples.length, total });
      } finally {
        await context.dispose();
      }
    }
  }
  await send({
    type: 'speed',
    result: {
      engine: 'node-llama-cpp',
      promptTokens: plan.promptTokens,
      generatedTokens: plan.generatedTokens,
      depth: plan.depth,
      repetitions: plan.repetitions,
      samples,
      loadMs,
      peakRssBytes: peakRss(),
      wallMs: performance.now() - started,
    },
  });
}

// The full next-token distribution at every scored position of a window:
// temperature 1 and no truncation, so the probabilities are the softmax of
// the logits.
async function windowDistributions(
  sequence: LlamaContextSequence,
  chunk: number[],
  first: number,
): Promise<Array<Probabilities | undefined>> {
  await sequence.clearHistory();
  const outputs = await sequence.controlledEvaluate(
    (chunk as Token[]).map((token, j) =>
      j >= first && j < chunk.length - 1
        ? [
            token,
            { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } },
          ]
        : token,
    ),
  );
  return outputs.map((output) => output?.next?.probabilities);
}

async function qualityBase(task: Extract<WorkerTask, { kind: 'quality-base' }>): Promise<void> {
  const { model, loadMs } = await load(task.model, task.threads);
  const text = await readFile(task.textFile, 'utf8');
  const bos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
  // common_tokenize(ctx, text, add_special = true): BOS first when the vocabulary adds one.
  const tokens = [...(bos !== null ? [bos] : []), ...model.tokenize(text)];
  const windows = perplexityChunks(tokens, task.nCtx, bos, task.chunks);
  const context = await model.createContext({
    contextSize: task.nCtx,
    batchSize: task.nCtx,
    threads: task.threads,
    sequences: 1,
  });
  const file = await open(task.baseFile, 'w');
  try {
    const sequence = context.getSequence();
    await file.write(
      encodeBaseHeader(task.nCtx, windows.chunks, windows.chunks.length * windows.scoredPerChunk),
    );
    const nlls: number[] = [];
    for (const [index, chunk] of windows.chunks.entries()) {
      const distributions = await windowDistributions(sequence, chunk, windows.first);
      for (let j = windows.first; j < chunk.length - 1; j++) {
        const position = baseDistribution(distributions[j] ?? new Map(), chunk[j + 1]);
        nlls.push(position.nll);
        await file.write(encodeBasePosition(position));
      }
      await send({ type: 'progress', done: index + 1, total: windows.chunks.length });
    }
    await send({
      type: 'perplexity',
      summary: perplexityOf(nlls),
      facts: { loadMs, peakRssBytes: peakRss() },
    });
  } finally {
    await file.close();
    await context.dispose();
  }
}

async function qualityCompare(task: Extract<WorkerTask, { kind: 'quality-compare' }>): Promise<void> {
  const { model, loadMs } = await load(task.model, task.threads);
  const base = decodeBaseFile(await readFile(task.baseFile), task.baseFile);
  const first = Math.floor(base.nCtx / 2);
  const context = await model.createContext({
    contextSize: base.nCtx,
    batchSize: base.nCtx,
    threads: task.threads,
    sequences: 1,
  });
  try {
    const sequence = context.getSequence();
    const accumulator = new QualityAccumulator();
    let position = 0;
    for (const [index, chunk] of base.chunks.entries()) {
      const distributions = await windowDistributions(sequence, chunk, first);
      for (let j = first; j < chunk.length - 1; j++) {
        accumulator.add(
          scorePosition(base.positions[position++], distributions[j] ?? new Map(), chunk[j + 1]),
        );
      }
      await send({ type: 'progress', done: index + 1, total: base.chunks.length });
    }
    await send({
      type: 'quality',
      summary: accumulator.summary(),
      facts: { loadMs, peakRssBytes: peakRss() },
    });
  } finally {
    await context.dispose();
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2]) as WorkerTask;
  if (task.kind === 'speed') await speed(task);
  else if (task.kind === 'quality-base') await qualityBase(task);
  else await qualityCompare(task);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await send({ type: 'error', message: (error as Error).message ?? String(error) });
    process.exit(1);
  },
);
