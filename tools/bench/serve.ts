// Generation speed through Alki's two serving paths against llama-bench, on
// the same model and thread count, in one run:
//   llama-bench tg (reference) | llama-server alone | alki serve (llama-server engine, behind the front)
//   | alki serve (built-in node-llama-cpp engine).
// Each server sample is one streamed /v1/completions request; its rate is
// (tokens - 1) / (time of the last token - time of the first), which like
// llama-bench's tg leaves out prompt processing. Rows are in ms per token.
// On a shared machine wall times swing widely, so it also prints the CPU time
// this process (the client, plus Alki's front when it is in the path) spends
// per token: the front's own cost is the difference to llama-server alone.
//
//   npm run build && npx tsx tools/bench/serve.ts [layers of ~50 MiB, default 5] [runs, default 5] [threads, default 2]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServeSettings } from '@alki/runtime';
import { nativeTools, writeSizedLlamaGguf } from '@alki/testkit';
import { median, report, type Measurement } from './harness.js';
import { startServingPaths } from './serving-paths.js';
import { spawnSync } from 'node:child_process';

const layers = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 5);
const threads = Number(process.argv[4] ?? 2);
const TOKENS = 64;
const CONTEXT = 512;
const PROMPT = 'The quick brown fox';

/** One streamed completion; returns ms per generated token after the first, and the token count. */
async function streamedRate(
  baseUrl: string,
  model: string,
): Promise<{ msPerToken: number; cpuMsPerToken: number; tokens: number }> {
  const cpuBefore = process.cpuUsage();
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model,
      prompt: PROMPT,
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`${baseUrl} answered ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let first = 0;
  let last = 0;
  let tokens = 0;
  let buffer = '';
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    const now = performance.now();
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, end).replace(/^data: /, '');
      buffer = buffer.slice(end + 2);
      if (data === '[DONE]') continue;
      const event = JSON.parse(data) as {
        choices?: Array<{ text?: string }>;
        usage?: { completion_tokens: number };
      };
      if (event.choices?.[0]?.text) {
        if (!first) first = now;
        last = now;
      }
      if (event.usage) tokens = event.usage.completion_tokens;
    }
  }
  if (tokens < TOKENS / 2)
    throw new Error(`${baseUrl} generated only ${tokens} tokens; the rate would mean little`);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    msPerToken: (last - first) / (tokens - 1),
    cpuMsPerToken: (cpu.user + cpu.system) / 1000 / tokens,
    tokens,
  };
}

/** llama-bench's tg rate for the same model and threads, one repetition per call. */
function llamaBenchRate(binary: string, model: string): number {
  const result = spawnSync(
    binary,
    ['-m', model, '-p', '0', '-n', String(TOKENS), '-t', String(threads), '-r', '1', '-o', 'json'],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`llama-bench failed: ${result.stderr.slice(-2000)}`);
  const [row] = JSON.parse(result.stdout) as Array<{ avg_ts: number }>;
  return 1000 / row.avg_ts;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-serve-'));
const stops: Array<() => Promise<void>> = [];
try {
  const tools = await nativeTools();
  const modelPath = path.join(work, 'bench.gguf');
  await writeSizedLlamaGguf(modelPath, { embedding: 1024, feedForward: 2816, layers });
  const settings: ServeSettings = {
    modelPath,
    modelId: 'bench',
    host: '127.0.0.1',
    port: 0,
    ctx: CONTEXT,
    threads,
    ngl: 0,
    parallel: 1,
  };
  console.log(
    `model ${(fs.statSync(modelPath).size / 2 ** 20).toFixed(0)} MiB F32, ${layers} layers, ${threads} threads, ${TOKENS} tokens per sample, ${runs} runs, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );

  const started = await startServingPaths(settings);
  stops.push(started.stop);
  const [direct, viaFront, builtin] = started.paths;

  const cpu = new Map<string, number[]>();
  const server = (label: string, url: string) => ({
    label,
    sample: async () => {
      const rate = await streamedRate(url, 'bench');
      cpu.set(label, [...(cpu.get(label) ?? []), rate.cpuMsPerToken]);
      return rate.msPerToken;
    },
  });
  const paths: Array<{ label: string; sample: () => Promise<number> | number }> = [
    { label: 'llama-bench tg', sample: () => llamaBenchRate(tools.paths['llama-bench'], modelPath) },
    ...[direct, viaFront, builtin].map((p) => server(p.label, p.url)),
  ];
  // One unmeasured warm-up per path, then the paths interleaved run by run so
  // the machine's load drifts over all of them alike.
  for (const p of paths) await p.sample();
  const samples = new Map(paths.map((p) => [p.label, [] as number[]]));
  for (let run = 0; run < runs; run++) {
    for (const p of paths) samples.get(p.label)!.push(await p.sample());
  }
  const rows: Measurement[] = paths.map((p) => ({
    label: p.label,
    samplesMs: samples.get(p.label)!,
    medianMs: median(samples.get(p.label)!),
  }));
  report(
    `Generation, ms per token (lower is faster; ratio > 1 is slower than llama-bench)`,
    rows,
    'llama-bench tg',
    {
      ...Object.fromEntries(rows.map((r) => [`${r.label} tokens/s`, (1000 / r.medianMs).toFixed(2)])),
      ...Object.fromEntries(
        [...cpu].map(([label, values]) => [
          `${label} CPU of this process per token (ms)`,
          median(values).toFixed(3),
        ]),
      ),
    },
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
}
