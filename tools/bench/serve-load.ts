// Serving under concurrency (issue 22): the demo bundle (context 512 per
// request) served with `slots` slots, sent 4x, 16x and 64x as many concurrent
// streamed chat completions as it has slots, each with a max_tokens that fits
// beside its prompt. Three paths, interleaved run by run:
//   llama-server alone (reference: started with the bundle's deploy arguments)
//   | alki serve, llama-server engine | alki serve, node-llama-cpp engine.
// Every request must succeed. Per level it prints the median wall time of a
// whole round and its ratio to llama-server alone, the generated tokens per
// second, and the queueing delay: the median and 95th-percentile time to first
// token minus the time to first token of a lone request on the same path.
//
//   npm run build && npx tsx tools/bench/serve-load.ts [slots, default 4] [runs, default 3] [max_tokens, default 200] [threads, default 2]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packDemo } from '@alki/bundler';
import { resolveServeSettings } from '@alki/runtime';
import { percentile, sendChatLoad, type ChatLoadResult } from '@alki/testkit';
import { median, report, type Measurement } from './harness.js';
import { REFERENCE_PATH, startServingPaths } from './serving-paths.js';

const slots = Number(process.argv[2] ?? 4);
const runs = Number(process.argv[3] ?? 3);
const maxTokens = Number(process.argv[4] ?? 200);
const threads = Number(process.argv[5] ?? 2);
const LEVELS = [4, 16, 64];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-serve-load-'));
const stops: Array<() => Promise<void>> = [];
try {
  const bundleDir = path.join(work, 'alki-demo');
  await packDemo({ out: bundleDir, parallel: slots });
  const settings = await resolveServeSettings(bundleDir, { host: '127.0.0.1', port: 0, threads });
  console.log(
    `demo bundle: context ${settings.ctx} per request, ${slots} slots, max_tokens ${maxTokens}, ${threads} threads, ${runs} runs, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );

  const started = await startServingPaths(settings);
  stops.push(started.stop);
  const { paths } = started;
  const load = (url: string, requests: number) =>
    sendChatLoad({ url, model: settings.modelId, requests, maxTokens, temperature: 0.8 });

  // A lone request per path: its time to first token is what a request costs without waiting.
  const alone = new Map<string, number>();
  for (const p of paths) {
    const firsts: number[] = [];
    for (let i = 0; i < 5; i++) firsts.push((await load(p.url, 1)).answers[0].firstTokenMs);
    alone.set(p.label, median(firsts));
  }

  let failures = 0;
  for (const times of LEVELS) {
    const requests = slots * times;
    const rounds = new Map<string, ChatLoadResult[]>(paths.map((p) => [p.label, []]));
    for (let run = 0; run < runs; run++) {
      for (const p of paths) {
        const result = await load(p.url, requests);
        rounds.get(p.label)!.push(result);
        for (const failure of result.failures.slice(0, 3))
          console.log(`  FAILED ${p.label}: ${failure.status} ${failure.error.slice(0, 200)}`);
        failures += result.failures.length;
      }
    }
    const rows: Measurement[] = paths.map((p) => {
      const samplesMs = rounds.get(p.label)!.map((r) => r.wallMs);
      return { label: p.label, samplesMs, medianMs: median(samplesMs) };
    });
    const extra: Record<string, string> = {};
    for (const p of paths) {
      const results = rounds.get(p.label)!;
      const answers = results.flatMap((r) => r.answers);
      const tokens = answers.reduce((sum, a) => sum + a.completionTokens, 0);
      const wall = results.reduce((sum, r) => sum + r.wallMs, 0);
      const firsts = answers.map((a) => a.firstTokenMs - alone.get(p.label)!);
      extra[p.label] =
        `${results.reduce((sum, r) => sum + r.failures.length, 0)} failed of ${answers.length}, ` +
        `${((tokens / wall) * 1000).toFixed(0)} tokens/s, queueing delay median ${(percentile(firsts, 0.5) / 1000).toFixed(2)} s, ` +
        `p95 ${(percentile(firsts, 0.95) / 1000).toFixed(2)} s (lone first token ${alone.get(p.label)!.toFixed(0)} ms)`;
    }
    report(
      `${requests} concurrent requests (${times}x ${slots} slots), wall time of a round`,
      rows,
      REFERENCE_PATH,
      extra,
    );
  }
  console.log(`\n${failures} failed requests in all`);
  if (failures > 0) process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
}
