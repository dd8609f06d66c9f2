// Which thread count `alki validate` should default to on a small, busy
// machine. Runs validateGgufModel (load, tokenize, template, a 32-token
// generation, in its child process) on a tiny model and on a ~100 MiB Q8_0
// model, with 1 thread, with every core (the old default) and with 4 threads
// (node-llama-cpp's own default), and prints the generation rate and the
// whole validation's wall time; the reference row is every core. The load
// average is printed with it, since the result depends on it.
//
//   npm run build && npx tsx tools/bench/validate-threads.ts [runs, default 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateGgufModel } from '@alki/runtime';
import { cachedTinyLlamaGguf, fixtureCacheDir, nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { median, report, runCommand, type Measurement } from './harness.js';

const runs = Number(process.argv[2] ?? 3);
const cores = os.availableParallelism();

async function mediumModel(): Promise<string> {
  const dir = fixtureCacheDir('bench', 'validate-threads');
  const q8 = path.join(dir, 'medium-q8_0.gguf');
  if (fs.existsSync(q8)) return q8;
  const f32 = path.join(dir, 'medium-f32.gguf');
  await writeSizedLlamaGguf(f32, { embedding: 768, feedForward: 2048, layers: 12 });
  runCommand((await nativeTools()).paths['llama-quantize'], [f32, q8, 'Q8_0', '1']);
  fs.rmSync(f32);
  return q8;
}

async function measureThreads(
  model: string,
  threads: number,
): Promise<{ wall: Measurement; rate: Measurement }> {
  const wall: number[] = [];
  const msPerToken: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const started = performance.now();
    const result = await validateGgufModel(model, { threads, maxTokens: 32, contextSize: 256 });
    const elapsed = performance.now() - started;
    if (!result.ok)
      throw new Error(`${model} failed validation with ${threads} threads: ${JSON.stringify(result.checks)}`);
    // The first run warms the page cache and the binding; it is not counted.
    if (i === 0) continue;
    wall.push(elapsed);
    msPerToken.push(1000 / (result.metrics.generationTokensPerSecond ?? NaN));
  }
  const label = `${threads} thread${threads === 1 ? '' : 's'}${threads === cores ? ' (every core)' : ''}`;
  return {
    wall: { label, samplesMs: wall, medianMs: median(wall) },
    rate: { label, samplesMs: msPerToken, medianMs: median(msPerToken) },
  };
}

const models = [
  ['tiny llama (1 MiB)', (await cachedTinyLlamaGguf()).path],
  ['llama 12 x 768, Q8_0', await mediumModel()],
] as const;
const counts = [...new Set([1, cores, 4])].sort((a, b) => a - b);
const reference = `${cores} thread${cores === 1 ? '' : 's'} (every core)`;
for (const [name, model] of models) {
  const results = [];
  for (const threads of counts) results.push(await measureThreads(model, threads));
  const load = `${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${cores} cores`;
  report(
    `${name}: ms per generated token`,
    results.map((r) => r.rate),
    reference,
    { 'load average': load },
  );
  report(
    `${name}: whole validation, wall ms`,
    results.map((r) => r.wall),
    reference,
  );
}
