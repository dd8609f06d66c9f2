// Benchmark: `alki calibrate` over three quants of one model against running
// llama.cpp's tools by hand over the same quants: llama-perplexity for the
// reference (--kl-divergence-base) and each quant (--kl-divergence), and one
// llama-bench over the three files, with the same text, context, threads,
// batch and test sizes. Goal: calibrate takes at most 1.2x their combined
// time, while it also probes the machine, sizes memory and recommends.
// Timed twice: with the default engines (llama-bench, quality from
// node-llama-cpp) and with --engine llama-cpp (llama-perplexity too).
//
//   npm run build && npx tsx tools/bench/calibrate.ts [layers=4] [runs=3]
import { builtInTextFile } from '@alki/calibrate';
import { fixtureCacheDir, nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, report, runCommand, type Measurement } from './harness.js';

const layers = Number(process.argv[2] ?? 4);
const runs = Number(process.argv[3] ?? 3);
const threads = [1, 2];
const tools = await nativeTools();
const alki = fileURLToPath(new URL('../../apps/cli/bin/alki.js', import.meta.url));

// An F16 model of width 512 (27 MB at 4 layers) and its Q8_0 and Q4_K_M, made
// once by llama-quantize so that neither side times quantization.
const dir = fixtureCacheDir('bench');
const files = Object.fromEntries(
  ['F16', 'Q8_0', 'Q4_K_M'].map((quant) => [
    quant,
    path.join(dir, `calibrate-${layers}l-${quant.toLowerCase()}.gguf`),
  ]),
);
if (!Object.values(files).every((file) => fs.existsSync(file))) {
  console.log(`writing the ${layers}-layer benchmark model and its quants (once)...`);
  const f32 = path.join(dir, `calibrate-${layers}l-f32.gguf.tmp`);
  await writeSizedLlamaGguf(f32, { embedding: 512, feedForward: 1536, layers, seed: 5 });
  for (const [quant, file] of Object.entries(files))
    runCommand(tools.paths['llama-quantize'], [f32, file, quant]);
  fs.rmSync(f32);
}

const text = builtInTextFile();
const nCtx = 128;
const plan = { promptTokens: 256, generatedTokens: 64, repetitions: 3, batch: 512 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-calibrate-'));
const baseFile = path.join(work, 'base.kld');
const perplexity = (model: string, compare: boolean) =>
  runCommand(tools.paths['llama-perplexity'], [
    '-m',
    model,
    '-f',
    text,
    '-c',
    String(nCtx),
    '-b',
    String(nCtx),
    '-t',
    String(Math.max(...threads)),
    '--kl-divergence-base',
    baseFile,
    ...(compare ? ['--kl-divergence'] : []),
  ]);

function byHand(): void {
  perplexity(files.F16, false);
  perplexity(files.Q8_0, true);
  perplexity(files.Q4_K_M, true);
  runCommand(tools.paths['llama-bench'], [
    ...Object.values(files).flatMap((file) => ['-m', file]),
    '-p',
    String(plan.promptTokens),
    '-n',
    String(plan.generatedTokens),
    '-t',
    threads.join(','),
    '-b',
    String(plan.batch),
    '-ub',
    String(plan.batch),
    '-r',
    String(plan.repetitions),
    '-o',
    'jsonl',
  ]);
}

let recommended = '';
function calibrate(engine: 'auto' | 'llama-cpp'): void {
  const out = path.join(work, `calibrate-${engine}.json`);
  runCommand('sh', [
    '-c',
    `exec "$@" > ${out}`,
    'sh',
    process.execPath,
    alki,
    'calibrate',
    files.F16,
    files.Q8_0,
    files.Q4_K_M,
    '--engine',
    engine,
    '--quality-context',
    String(nCtx),
    '--threads',
    threads.join(','),
    '--batch',
    String(plan.batch),
    '--prompt-tokens',
    String(plan.promptTokens),
    '--gen-tokens',
    String(plan.generatedTokens),
    '--repetitions',
    String(plan.repetitions),
    '--json',
  ]);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as {
    result: { recommendation?: { quant: string } };
  };
  recommended = result.result.recommendation?.quant ?? 'none';
}

// The three alternate, so each sees the same load on a shared machine.
const samples: Record<string, number[]> = { hand: [], auto: [], tools: [] };
try {
  for (let run = 0; run < runs; run++) {
    samples.hand.push(...(await measure('hand', byHand, { runs: 1, warmup: run === 0 ? 1 : 0 })).samplesMs);
    samples.auto.push(...(await measure('auto', () => calibrate('auto'), { runs: 1, warmup: 0 })).samplesMs);
    samples.tools.push(
      ...(await measure('tools', () => calibrate('llama-cpp'), { runs: 1, warmup: 0 })).samplesMs,
    );
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
const row = (label: string, key: string): Measurement => ({
  label,
  samplesMs: samples[key],
  medianMs: median(samples[key]),
});
report(
  `calibrate: 3 quants of a ${layers}-layer width-512 llama (F16 ${(fs.statSync(files.F16).size / 2 ** 20).toFixed(1)} MiB), context ${nCtx}, threads ${threads.join(',')}`,
  [
    row('llama-perplexity x3 + llama-bench', 'hand'),
    row('alki calibrate (auto)', 'auto'),
    row('alki calibrate --engine llama-cpp', 'tools'),
  ],
  'llama-perplexity x3 + llama-bench',
  { goal: 'ratio <= 1.2', recommended },
);
