// Benchmark: convert an F16 safetensors checkpoint of about 1 GB (a TinyLlama-
// shaped model: hidden 2048, feed-forward 5632, 8 layers, 32000-token
// vocabulary) to an F16 GGUF with @alki/converter, against a plain `cp` of the
// same file on the same disk, and `cp` followed by `sync` of the copy (the
// converter fsyncs before its rename, cp does not). Each conversion runs in
// its own process so its peak RSS is measured alone. The runs of cp + sync
// and of the converter alternate, so both see the same load on a shared
// machine. Goals: throughput at least 0.9x that of cp + sync (both durable),
// peak RSS under 300 MB.
//
//   npm run build && npx tsx tools/bench/convert.ts [runs=3] [layers=8]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureCacheDir, generateCheckpoint } from '@alki/testkit';
import { measure, median, report, runCommand } from './harness.js';

const runs = Number(process.argv[2] ?? 3);
const layers = Number(process.argv[3] ?? 8);

console.log('generating the benchmark checkpoint (once, cached)...');
const checkpoint = await generateCheckpoint({
  family: 'tinyllama',
  hiddenSize: 2048,
  intermediateSize: 5632,
  heads: 32,
  kvHeads: 4,
  layers,
  seed: 3,
});
const weights = path.join(checkpoint, 'model.safetensors');
const bytes = fs.statSync(weights).size;
const out = fixtureCacheDir('bench', 'convert');
const copy = path.join(out, 'copy.safetensors');
const gguf = path.join(out, 'model-f16.gguf');
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'convert-child.ts');

const cp = await measure('cp', () => runCommand('cp', [weights, copy]), { runs, warmup: 1 });
const durableCopy = () => runCommand('sh', ['-c', `cp "${weights}" "${copy}" && sync "${copy}"`]);
const convertOnce = () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', child, checkpoint, gguf, 'f16'], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`conversion failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as { ms: number; maxRssBytes: number };
};
const loadBefore = os.loadavg();
// The first conversion warms the page cache, as cp's warm-up does.
convertOnce();
const cpSyncMs: number[] = [];
const rss: number[] = [];
const convertMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  durableCopy();
  cpSyncMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  fs.rmSync(copy, { force: true });
  fs.rmSync(gguf, { force: true });
  const { ms, maxRssBytes } = convertOnce();
  convertMs.push(ms);
  rss.push(maxRssBytes);
}
const loadAfter = os.loadavg();
const cpSync = { label: 'cp + sync', samplesMs: cpSyncMs, medianMs: median(cpSyncMs) };
const alki = { label: 'alki convert (f16 -> f16)', samplesMs: convertMs, medianMs: median(convertMs) };
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
report(
  `F16 checkpoint of ${mib(bytes)} -> F16 GGUF of ${mib(fs.statSync(gguf).size)}`,
  [cp, cpSync, alki],
  cp.label,
  {
    'throughput ratio vs cp (cp time / convert time)': (cp.medianMs / alki.medianMs).toFixed(3),
    'throughput ratio vs cp + sync (goal >= 0.9)': (cpSync.medianMs / alki.medianMs).toFixed(3),
    'convert MB/s': (bytes / 1e6 / (alki.medianMs / 1000)).toFixed(0),
    'peak RSS of the converting process (median; goal < 300 MB)': `${(median(rss) / 1e6).toFixed(0)} MB (runs: ${rss.map((r) => (r / 1e6).toFixed(0)).join(', ')})`,
    'load average (1, 5, 15 min) before and after': `${loadBefore.map((l) => l.toFixed(2)).join(' ')} / ${loadAfter.map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`,
  },
);
fs.rmSync(copy, { force: true });
fs.rmSync(gguf, { force: true });
