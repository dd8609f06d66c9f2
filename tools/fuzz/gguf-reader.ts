// Fuzzes @alki/gguf-reader's readGguf with a seeded mutation loop for a fixed
// time. Every input must either parse or fail with a GgufError: any other
// exception, a parse slower than HANG_MS, or memory growth past MAX_RSS_GROWTH
// is a failure, and the offending input is saved for a regression test.
// Not part of `npm test`: run it on demand.
//
//   npm run build && npx tsx tools/fuzz/gguf-reader.ts [seconds=60] [seed=1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bufferSource,
  GgmlType,
  GgufError,
  GgufValueType,
  ggufArray,
  ggufEntry,
  layoutTensors,
  readGguf,
  serializeGgufHeader,
  type GgufTensorSpec,
} from '@alki/gguf-reader';

const seconds = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? 1);
const HANG_MS = 2_000;
const MAX_RSS_GROWTH = 512 * 1024 * 1024;

/** xorshift32: small, seeded and reproducible. */
function prng(start: number): () => number {
  let state = start >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function file(
  metadata: Parameters<typeof serializeGgufHeader>[0]['metadata'],
  specs: GgufTensorSpec[],
  littleEndian = true,
  version: 2 | 3 = 3,
): Uint8Array {
  const tensors = layoutTensors(specs);
  const header = serializeGgufHeader({ metadata, tensors, littleEndian, version });
  const last = tensors[tensors.length - 1];
  const bytes = new Uint8Array(header.length + (last ? last.offset + last.byteSize : 0));
  bytes.set(header);
  return bytes;
}

// Seeds: small valid files that exercise every value type, nesting, several
// tensor types, both byte orders and both versions.
const everyType = [
  ggufEntry.string('general.architecture', 'llama'),
  ggufEntry.uint8('a', 1),
  ggufEntry.int8('b', -1),
  ggufEntry.uint16('c', 2),
  ggufEntry.int16('d', -2),
  ggufEntry.uint32('general.alignment', 32),
  ggufEntry.int32('e', -3),
  ggufEntry.float32('f', 0.5),
  ggufEntry.bool('g', true),
  ggufEntry.uint64('h', 5n),
  ggufEntry.int64('i', -5n),
  ggufEntry.float64('j', 1.25),
  ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'Ġb', 'ü', '']),
  ggufEntry.array('k', GgufValueType.ARRAY, [
    ggufArray(GgufValueType.INT32, [1, 2]),
    ggufArray(GgufValueType.STRING, ['x']),
  ]),
];
const tensors: GgufTensorSpec[] = [
  { name: 'token_embd.weight', type: GgmlType.Q4_K, dims: [256, 2] },
  { name: 'blk.0.attn_q.weight', type: GgmlType.Q8_0, dims: [32, 3] },
  { name: 'output_norm.weight', type: GgmlType.F32, dims: [7] },
];
const seeds = [
  file(everyType, tensors),
  file(everyType, tensors, false),
  file(everyType.slice(0, 3), tensors.slice(2), true, 2),
  file([], []),
];

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xed, 0xf4];
const INTERESTING_U64 = [0n, 1n, 0x7fffffffn, 0xffffffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 1000n, 32n];

function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  let bytes = input.slice();
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    const at = pick(bytes.length);
    switch (pick(7)) {
      case 0:
        bytes[at] ^= 1 << pick(8);
        break;
      case 1:
        bytes[at] = INTERESTING_BYTES[pick(INTERESTING_BYTES.length)];
        break;
      case 2: {
        const value = INTERESTING_U64[pick(INTERESTING_U64.length)];
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (at + 8 <= bytes.length) view.setBigUint64(at, value, random() < 0.8);
        break;
      }
      case 3:
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        const out = new Uint8Array(bytes.length + 1 + pick(16));
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at), out.length - (bytes.length - at));
        bytes = out;
        break;
      }
      case 5: {
        const length = Math.min(1 + pick(16), bytes.length - at);
        const out = new Uint8Array(bytes.length - length);
        out.set(bytes.subarray(0, at));
        out.set(bytes.subarray(at + length), at);
        bytes = out;
        break;
      }
      default: {
        const from = pick(bytes.length);
        const length = Math.min(1 + pick(32), bytes.length - from, bytes.length - at);
        bytes.copyWithin(at, from, from + length);
      }
    }
  }
  return bytes;
}

const random = prng(seed);
const outcomes = new Map<string, number>();
const startRss = process.memoryUsage().rss;
let maxRss = startRss;
let slowestMs = 0;
let iterations = 0;
const deadline = Date.now() + seconds * 1000;

function fail(reason: string, input: Uint8Array, error?: unknown): never {
  const saved = path.join(os.tmpdir(), `gguf-fuzz-failure-seed${seed}-${iterations}.gguf`);
  fs.writeFileSync(saved, input);
  console.error(`FAIL after ${iterations} inputs: ${reason}\ninput saved to ${saved}`);
  if (error) console.error(error);
  process.exit(1);
}

while (Date.now() < deadline) {
  const input = mutate(seeds[Math.floor(random() * seeds.length)], random);
  iterations++;
  const started = performance.now();
  try {
    await readGguf(bufferSource(input));
    outcomes.set('parsed', (outcomes.get('parsed') ?? 0) + 1);
  } catch (error) {
    if (!(error instanceof GgufError))
      fail(`a ${(error as Error)?.name ?? typeof error} escaped instead of a GgufError`, input, error);
    outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
  }
  const elapsed = performance.now() - started;
  slowestMs = Math.max(slowestMs, elapsed);
  if (elapsed > HANG_MS) fail(`one input took ${elapsed.toFixed(0)} ms`, input);
  if (iterations % 1000 === 0) {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    if (maxRss - startRss > MAX_RSS_GROWTH)
      fail(`memory grew by ${((maxRss - startRss) / 1048576).toFixed(0)} MiB`, input);
  }
}

console.log(
  `gguf-reader fuzz: seed ${seed}, ${seconds} s, ${iterations} inputs (${(iterations / seconds).toFixed(0)}/s), no escapes`,
);
console.log(
  `  slowest input ${slowestMs.toFixed(1)} ms, RSS growth ${((maxRss - startRss) / 1048576).toFixed(1)} MiB`,
);
for (const [outcome, count] of [...outcomes].sort((a, b) => b[1] - a[1]))
  console.log(`  ${outcome.padEnd(22)} ${count}`);
