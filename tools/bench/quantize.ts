// Benchmark: quantize the same F16 llama GGUF (about 1 GB at the default 10
// layers of hidden 2048 / feed-forward 5632) to Q4_K_M with @alki/quantizer
// and with llama.cpp's llama-quantize, at the same thread count, in the same
// run. Goal: Alki within 1.5x of llama-quantize. Then weights per second of
// each block type, Alki's row quantizer on one thread.
//
//   npm run build && npx tsx tools/bench/quantize.ts [layers=10] [runs=3] [threads=2]
import fs from 'node:fs';
import path from 'node:path';
import { quantizeGguf, BLOCK_FORMATS } from '@alki/quantizer';
import { fixtureCacheDir, nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { measure, median, report, runCommand, type Measurement } from './harness.js';

const layers = Number(process.argv[2] ?? 10);
const runs = Number(process.argv[3] ?? 3);
const threads = Number(process.argv[4] ?? 2);

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

const alkiOut = path.join(dir, 'quantize-alki.gguf');
const llamaOut = path.join(dir, 'quantize-llama.gguf');
const weights = fs.statSync(f16).size / 2;
// Alki and llama-quantize alternate, so both see the same load on a shared machine.
const alkiSamples: number[] = [];
const llamaSamples: number[] = [];
for (let run = 0; run < runs; run++) {
  alkiSamples.push(
    ...(
      await measure(
        'alki',
        () => quantizeGguf({ input: f16, output: alkiOut, mix: 'Q4_K_M', threads, overwrite: true }),
        { runs: 1, warmup: 0 },
      )
    ).samplesMs,
  );
  llamaSamples.push(
    ...(
      await measure('llama', () => runCommand(llamaQuantize, [f16, llamaOut, 'Q4_K_M', String(threads)]), {
        runs: 1,
        warmup: 0,
      })
    ).samplesMs,
  );
}
const alki: Measurement = {
  label: `alki quantizeGguf (${threads} threads)`,
  samplesMs: alkiSamples,
  medianMs: median(alkiSamples),
};
const llama: Measurement = {
  label: `llama-quantize (${threads} threads)`,
  samplesMs: llamaSamples,
  medianMs: median(llamaSamples),
};
const identical = Buffer.compare(fs.readFileSync(alkiOut), fs.readFileSync(llamaOut)) === 0;
report(
  `Q4_K_M of ${(fs.statSync(f16).size / 2 ** 30).toFixed(2)} GiB F16 (${layers} layers)`,
  [llama, alki],
  llama.label,
  {
    'outputs identical': String(identical),
    'alki Mweights/s': (weights / alki.medianMs / 1000).toFixed(2),
    'llama-quantize Mweights/s': (weights / llama.medianMs / 1000).toFixed(2),
  },
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
