// Benchmark: quantize the same F16 llama GGUF (about 1 GB at the default 10
// layers of hidden 2048 / feed-forward 5632) to Q4_K_M, Q3_K_M and IQ4_XS with
// @alki/quantizer and with llama.cpp's llama-quantize, at the same thread
// count, alternating in the same run. Goal: Alki's wall time at most 1.0x
// llama-quantize's. Prints, per mix, the median wall time and CPU time
// (user + system: Alki's process with its worker threads, llama-quantize's
// child from GNU time) and their ratios, peak RSS, and whether the outputs are
// identical; then weights per second of each block type's row quantizer on one
// thread.
//
//   npm run build && npx tsx tools/bench/quantize.ts [layers=10] [runs=3] [threads=2] [mixes=Q4_K_M,Q3_K_M,IQ4_XS]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantizeGguf, BLOCK_FORMATS } from '@alki/quantizer';
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

interface Sample {
  wallMs: number;
  cpuMs: number;
}

// One in-process quantization: wall time and the process's CPU time (every thread).
async function alkiRun(mix: string, output: string): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await quantizeGguf({ input: f16, output, mix, threads, overwrite: true });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

// One llama-quantize run under GNU time: wall time, CPU time and peak RSS of the child.
function llamaRun(mix: string, output: string): Sample & { rssKiB: number } {
  const start = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    ['-f', '%U %S %M', llamaQuantize, f16, output, mix, String(threads)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`llama-quantize failed: ${result.stderr.toString().slice(-2000)}`);
  const [user, system, rss] = result.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wallMs, cpuMs: (user + system) * 1000, rssKiB: rss };
}

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
let llamaRss = 0;
for (const mix of mixes) {
  const alki: Sample[] = [];
  const llama: Sample[] = [];
  // Alternating, so both see the same load on a shared machine.
  for (let run = 0; run < runs; run++) {
    alki.push(await alkiRun(mix, alkiOut));
    const sample = llamaRun(mix, llamaOut);
    llamaRss = Math.max(llamaRss, sample.rssKiB);
    llama.push(sample);
  }
  const identical = Buffer.compare(fs.readFileSync(alkiOut), fs.readFileSync(llamaOut)) === 0;
  const wall = [median(alki.map((s) => s.wallMs)), median(llama.map((s) => s.wallMs))];
  const cpu = [median(alki.map((s) => s.cpuMs)), median(llama.map((s) => s.cpuMs))];
  console.log(`\n${mix}`);
  console.log(
    `  llama-quantize   wall median ${(wall[1] / 1000).toFixed(2).padStart(7)} s   cpu median ${(cpu[1] / 1000).toFixed(2).padStart(7)} s   (wall: ${llama.map((s) => (s.wallMs / 1000).toFixed(1)).join(', ')})`,
  );
  console.log(
    `  alki             wall median ${(wall[0] / 1000).toFixed(2).padStart(7)} s   cpu median ${(cpu[0] / 1000).toFixed(2).padStart(7)} s   (wall: ${alki.map((s) => (s.wallMs / 1000).toFixed(1)).join(', ')})`,
  );
  console.log(
    `  ratio alki/llama wall ${(wall[0] / wall[1]).toFixed(3)}   cpu ${(cpu[0] / cpu[1]).toFixed(3)}   outputs identical: ${identical}   alki ${(weights / wall[0] / 1000).toFixed(1)} Mweights/s`,
  );
}
console.log(
  `\npeak RSS: alki process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, llama-quantize ${(llamaRss / 1024).toFixed(0)} MiB; load average after ${load()}`,
);
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
