// Benchmark: quantize the same F16 llama GGUF (about 1 GB at the default 10
// layers of hidden 2048 / feed-forward 5632) to Q4_K_M, Q3_K_M and IQ4_XS with
// `alki quantize` and with llama.cpp's llama-quantize, at the same thread
// count, alternating in the same run. Goal: Alki's wall time at most 1.0x
// llama-quantize's. Both run as child processes under GNU time, so each is
// measured alike: wall time, CPU time (user + system, every thread) and peak
// RSS, Alki's including Node's start and the CLI. Prints, per mix, the medians,
// their ratios, and whether the outputs are identical (cmp); then weights per
// second of each block type's row quantizer on one thread.
//
//   npm run build && npx tsx tools/bench/quantize.ts [layers=10] [runs=3] [threads=2] [mixes=Q4_K_M,Q3_K_M,IQ4_XS]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOCK_FORMATS } from '@alki/quantizer';
import { fixtureCacheDir, nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { measure, median, runCommand } from './harness.js';

const layers = Number(process.argv[2] ?? 10);
const runs = Number(process.argv[3] ?? 3);
const threads = Number(process.argv[4] ?? 2);
const mixes = (process.argv[5] ?? 'Q4_K_M,Q3_K_M,IQ4_XS').split(',');

const llamaQuantize = (await nativeTools()).paths['llama-quantize'];
const dir = fixtureCacheDir('bench');
const f16 = path.join(dir, `quantize-llama-${layers}l-f16.gguf`);
if (!fs.existsSync(f16)) {
  const f32 = path.join(dir, `quantize-llama-${layers}l-f32.gguf.tmp`);
  console.log(`writing the ${layers}-layer benchmark model (once)...`);
  await writeSizedLlamaGguf(f32, { embedding: 2048, feedForward: 5632, layers, seed: 11 });
  runCommand(llamaQuantize, [f32, `${f16}.tmp`, 'F16', String(threads)]);
  fs.renameSync(`${f16}.tmp`, f16);
  fs.rmSync(f32);
}

const alki = fileURLToPath(new URL('../../apps/cli/bin/alki.js', import.meta.url));

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssKiB: number;
}

// One run of a command under GNU time: wall time, and the child's CPU time and peak RSS.
function timedRun(command: string, args: string[]): Sample {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', command, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0)
    throw new Error(`${path.basename(command)} failed: ${result.stderr.toString().slice(-2000)}`);
  const [user, system, rss] = result.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wallMs, cpuMs: (user + system) * 1000, rssKiB: rss };
}

const alkiRun = (mix: string, output: string) =>
  timedRun(process.execPath, [
    alki,
    'quantize',
    f16,
    output,
    mix,
    '--threads',
    String(threads),
    '--force',
    '--quiet',
  ]);
const llamaRun = (mix: string, output: string) =>
  timedRun(llamaQuantize, [f16, output, mix, String(threads)]);

const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
console.log(
  `quantize benchmark: ${(fs.statSync(f16).size / 2 ** 30).toFixed(2)} GiB F16, ${layers} layers, ${threads} threads, ${runs} runs per tool, ${os.cpus().length} cores, load average before ${load()}`,
);
const weights = fs.statSync(f16).size / 2;
const alkiOut = path.join(dir, 'quantize-alki.gguf');
const llamaOut = path.join(dir, 'quantize-llama.gguf');
const seconds = (ms: number) => (ms / 1000).toFixed(2).padStart(7);
const line = (label: string, samples: Sample[]) =>
  `  ${label.padEnd(16)} wall median ${seconds(median(samples.map((s) => s.wallMs)))} s   cpu median ${seconds(median(samples.map((s) => s.cpuMs)))} s   peak RSS ${(Math.max(...samples.map((s) => s.rssKiB)) / 1024).toFixed(0)} MiB   (wall: ${samples.map((s) => (s.wallMs / 1000).toFixed(1)).join(', ')})`;
for (const mix of mixes) {
  const alkiSamples: Sample[] = [];
  const llamaSamples: Sample[] = [];
  // Alternating, and each first in turn, so both see the same load and page cache.
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      alkiSamples.push(alkiRun(mix, alkiOut));
      llamaSamples.push(llamaRun(mix, llamaOut));
    } else {
      llamaSamples.push(llamaRun(mix, llamaOut));
      alkiSamples.push(alkiRun(mix, alkiOut));
    }
  }
  const identical = spawnSync('cmp', ['-s', alkiOut, llamaOut]).status === 0;
  const wall = [median(alkiSamples.map((s) => s.wallMs)), median(llamaSamples.map((s) => s.wallMs))];
  const cpu = [median(alkiSamples.map((s) => s.cpuMs)), median(llamaSamples.map((s) => s.cpuMs))];
  console.log(`\n${mix}`);
  console.log(line('llama-quantize', llamaSamples));
  console.log(line('alki quantize', alkiSamples));
  console.log(
    `  ratio alki/llama wall ${(wall[0] / wall[1]).toFixed(3)}   cpu ${(cpu[0] / cpu[1]).toFixed(3)}   outputs identical: ${identical}   alki ${(weights / wall[0] / 1000).toFixed(1)} Mweights/s   load average ${load()}`,
  );
}
fs.rmSync(alkiOut, { force: true });
fs.rmSync(llamaOut, { force: true });

// Per-type throughput of the row quantizers on one thread (the hot loop, without I/O or workers).
const sample = new Float32Array(256 * 4096);
let state = 7;
for (let i = 0; i < sample.length; i++) {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  sample[i] = (state / 4294967296 - 0.5) * 0.1;
}
console.log('\nrow quantizers, 1 thread, 1M weights:');
for (const format of BLOCK_FORMATS.values()) {
  const out = new Uint8Array((sample.length / format.blockWeights) * format.blockBytes);
  const m = await measure(format.name, () => format.quantize(sample, out), { runs, warmup: 1 });
  console.log(
    `  ${format.name.padEnd(6)} median ${m.medianMs.toFixed(1).padStart(8)} ms   ${(sample.length / m.medianMs / 1000).toFixed(2)} Mweights/s`,
  );
}
