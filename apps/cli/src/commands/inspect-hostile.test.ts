import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GgmlType,
  ggufEntry,
  GgufValueType,
  layoutTensors,
  serializeGgufHeader,
  type GgufMetadataEntry,
  type GgufTensorSpec,
} from '@alki/gguf-reader';

// `alki inspect` on headers whose every count and dimension that the summary
// reads sits at its type's limits, under a fixed heap (issue 21: a huge
// block_count made inspect run out of memory after 15 s). All cases run in one
// child process, the CLI's main() once per case, so that the heap limit
// is real and Node starts once; a case that blows the heap or hangs kills the
// child, and the last case it started is named.
const HEAP_MB = 128;
const CASE_MS = 10_000;

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-inspect-hostile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ARCH = 'llama';
// Every per-architecture key summarizeGguf reads, plus general.file_type.
const SUMMARISED_KEYS = [
  'general.file_type',
  `${ARCH}.context_length`,
  `${ARCH}.embedding_length`,
  `${ARCH}.block_count`,
  `${ARCH}.feed_forward_length`,
  `${ARCH}.attention.head_count`,
  `${ARCH}.attention.head_count_kv`,
  `${ARCH}.attention.key_length`,
  `${ARCH}.attention.value_length`,
  `${ARCH}.vocab_size`,
];

// Each value type's limits: every summarised key gets each value in turn.
const LIMITS: Array<[string, (key: string, i: number) => GgufMetadataEntry]> = [
  ['uint8', (k) => ggufEntry.uint8(k, 0xff)],
  ['int8', (k) => ggufEntry.int8(k, -0x80)],
  ['uint16', (k) => ggufEntry.uint16(k, 0xffff)],
  ['int16', (k) => ggufEntry.int16(k, -0x8000)],
  ['uint32', (k) => ggufEntry.uint32(k, 0xffffffff)],
  ['int32', (k, i) => ggufEntry.int32(k, i % 2 ? -1 : -0x80000000)],
  ['uint64', (k, i) => ggufEntry.uint64(k, i % 2 ? 2n ** 53n - 1n : 2n ** 64n - 1n)],
  ['int64', (k, i) => ggufEntry.int64(k, i % 2 ? 2n ** 63n - 1n : -(2n ** 63n))],
  ['float32', (k, i) => ggufEntry.float32(k, [Infinity, NaN, -Infinity, 3.4e38][i % 4])],
  ['float64', (k, i) => ggufEntry.float64(k, i % 2 ? 1e308 : -Number.MIN_VALUE)],
  ['bool', (k) => ggufEntry.bool(k, true)],
  ['string', (k) => ggufEntry.string(k, '18446744073709551615')],
];

const tensor: GgufTensorSpec = { name: 'output_norm.weight', type: GgmlType.F32, dims: [8] };

function writeGguf(name: string, metadata: GgufMetadataEntry[], specs: GgufTensorSpec[] = [tensor]): string {
  const tensors = layoutTensors(specs);
  const header = serializeGgufHeader({ metadata, tensors });
  const last = tensors[tensors.length - 1];
  const bytes = new Uint8Array(header.length + (last ? last.offset + last.byteSize : 0));
  bytes.set(header);
  const file = path.join(dir, `${name}.gguf`);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A valid little header, then one 64-bit field overwritten with a hostile value. */
function patched(
  name: string,
  metadata: GgufMetadataEntry[],
  specs: GgufTensorSpec[],
  at: number,
  value: bigint,
) {
  const file = writeGguf(name, metadata, specs);
  const bytes = fs.readFileSync(file);
  bytes.writeBigUInt64LE(value, at);
  fs.writeFileSync(file, bytes);
  return file;
}

interface HostileCase {
  name: string;
  args: string[];
  /** 0: summarised; 3: refused as invalid input. */
  exit: 0 | 3;
  /** For refusals, the reader's error code. */
  error?: string;
  /** With --tensors --json, how many tensors the listing holds. */
  tensors?: number;
}

interface CaseResult {
  name: string;
  code: number;
  ms: number;
  /** With --json, the parts of the result the test checks; else the head of the text. */
  stdout: { architecture?: string; tensors?: number; error?: string; head?: string; bytes?: number };
  stderr: string;
}

const U64_MAX = 2n ** 64n - 1n;
const cases: HostileCase[] = [];

beforeAll(() => {
  const architecture = ggufEntry.string('general.architecture', ARCH);
  const accept = (name: string, args: string[], tensors?: number) =>
    cases.push({ name, args: ['inspect', ...args], exit: 0, tensors });
  for (const [type, entry] of LIMITS) {
    const file = writeGguf(`limits-${type}`, [
      architecture,
      ...SUMMARISED_KEYS.map((key, i) => entry(key, i)),
    ]);
    accept(`every summarised key as ${type} at its limits`, [file, '--json']);
    accept(`every summarised key as ${type}, human output`, [file]);
  }
  // Per-layer arrays as long as a 12 MB file allows, with block_count at the uint32 limit.
  const perLayer = Array.from({ length: 1_000_000 }, () => 0xffffffff);
  const arrays = writeGguf('per-layer-arrays', [
    architecture,
    ggufEntry.uint32(`${ARCH}.block_count`, 0xffffffff),
    ggufEntry.uint32(`${ARCH}.context_length`, 0xffffffff),
    ggufEntry.array(`${ARCH}.attention.head_count`, GgufValueType.UINT32, perLayer),
    ggufEntry.array(`${ARCH}.attention.head_count_kv`, GgufValueType.UINT32, perLayer),
    ggufEntry.array(`${ARCH}.feed_forward_length`, GgufValueType.UINT32, perLayer),
  ]);
  accept('per-layer arrays of a million uint32 limits', [arrays, '--json']);
  const vocabulary = writeGguf('huge-vocabulary', [
    architecture,
    ggufEntry.array(
      'tokenizer.ggml.tokens',
      GgufValueType.STRING,
      Array.from({ length: 1_000_000 }, () => ''),
    ),
  ]);
  accept('a vocabulary of a million empty tokens', [vocabulary, '--json']);
  const manyKeys = writeGguf('many-keys', [
    architecture,
    ...Array.from({ length: 150_000 }, (_, i) => ggufEntry.uint8(`k.${i}`, 1)),
  ]);
  accept('150,000 metadata keys, all printed', [manyKeys, '--metadata']);
  const manyTensors = writeGguf(
    'many-tensors',
    [architecture],
    Array.from({ length: 50_000 }, (_, i) => ({ name: `t.${i}`, type: GgmlType.F32, dims: [1] })),
  );
  accept('50,000 tensors, all listed', [manyTensors, '--tensors', '--json'], 50_000);

  // Structural counts at the uint64 limit: refused before anything is allocated for them.
  const refuse = (name: string, file: string, error: string) =>
    cases.push({ name, args: ['inspect', file, '--json'], exit: 3, error });
  refuse('a tensor count of 2^64 - 1', patched('tensor-count', [], [tensor], 8, U64_MAX), 'COUNT_TOO_LARGE');
  refuse(
    'a metadata count of 2^64 - 1',
    patched('kv-count', [architecture], [tensor], 16, U64_MAX),
    'COUNT_TOO_LARGE',
  );
  const arrayKey = [ggufEntry.array('k', GgufValueType.UINT8, [1])];
  // 24-byte header, key length 8 + "k", value type 4, item type 4: the item count.
  refuse(
    'an array of 2^64 - 1 items',
    patched('array-count', arrayKey, [tensor], 24 + 9 + 4 + 4, U64_MAX),
    'COUNT_TOO_LARGE',
  );
  refuse(
    'an array of 2^30 + 1 items',
    patched('array-count-gguf-limit', arrayKey, [tensor], 24 + 9 + 4 + 4, 2n ** 30n + 1n),
    'COUNT_TOO_LARGE',
  );
  const stringKey = [ggufEntry.string('k', 'v')];
  refuse(
    'a string of 2^64 - 1 bytes',
    patched('string-length', stringKey, [tensor], 24 + 9 + 4, U64_MAX),
    'COUNT_TOO_LARGE',
  );
  // Tensor info: name length 8 + "output_norm.weight" (18), n_dims 4, then dimension 0.
  const dimAt = 24 + 8 + 18 + 4;
  refuse('a dimension of 2^64 - 1', patched('dim-u64', [], [tensor], dimAt, U64_MAX), 'COUNT_TOO_LARGE');
  refuse(
    'a dimension of 2^53 - 1',
    patched('dim-safe', [], [tensor], dimAt, 2n ** 53n - 1n),
    'DATA_PAST_END',
  );
  refuse('a dimension of 0', patched('dim-zero', [], [tensor], dimAt, 0n), 'ZERO_DIMENSION');
  refuse('a name length of 2^64 - 1', patched('name-length', [], [tensor], 24, U64_MAX), 'COUNT_TOO_LARGE');
  const wide = writeGguf('wide', [], [{ name: 't', type: GgmlType.F32, dims: [1, 1, 1, 1] }]);
  const bytes = fs.readFileSync(wide);
  // n_dims (after the 8-byte length and "t") at the uint32 limit.
  bytes.writeUInt32LE(0xffffffff, 24 + 9);
  fs.writeFileSync(wide, bytes);
  refuse('4,294,967,295 dimensions', wide, 'BAD_DIMENSIONS');

  // The other header fields at their type's limits (uint32 and uint64 fields of the header and tensor
  // info, value and item type ids), and the header values the summary reads besides the counts.
  const u32 = (name: string, metadata: GgufMetadataEntry[], at: number, value: number) => {
    const file = writeGguf(name, metadata);
    const patchedBytes = fs.readFileSync(file);
    patchedBytes.writeUInt32LE(value, at);
    fs.writeFileSync(file, patchedBytes);
    return file;
  };
  refuse('GGUF version 4,294,967,295', u32('version-max', [], 4, 0xffffffff), 'UNSUPPORTED_VERSION');
  refuse('GGUF version 0', u32('version-zero', [], 4, 0), 'UNSUPPORTED_VERSION');
  // Key length 8 + "k": the value type, then (for an array) the item type.
  refuse(
    'a value type id of 2^32 - 1',
    u32('value-type', stringKey, 24 + 9, 0xffffffff),
    'UNKNOWN_VALUE_TYPE',
  );
  refuse(
    'an array item type id of 2^32 - 1',
    u32('item-type', arrayKey, 24 + 9 + 4, 0xffffffff),
    'UNKNOWN_VALUE_TYPE',
  );
  // Tensor info: after the dimension, the ggml type (uint32) and the data offset (uint64).
  const typeAt = dimAt + 8;
  refuse(
    'a tensor type id of 2^32 - 1',
    (() => {
      const file = writeGguf('tensor-type', []);
      const b = fs.readFileSync(file);
      b.writeUInt32LE(0xffffffff, typeAt);
      fs.writeFileSync(file, b);
      return file;
    })(),
    'UNKNOWN_TENSOR_TYPE',
  );
  refuse(
    'a tensor offset of 2^64 - 1',
    patched('offset-max', [], [tensor], typeAt + 4, U64_MAX),
    'COUNT_TOO_LARGE',
  );
  refuse(
    // gguf.cpp requires each tensor's data right after the previous one's (gguf_init_from_file_impl).
    'a tensor offset of 2^53 - 32 (aligned, past the end, not where the data starts)',
    patched('offset-safe', [], [tensor], typeAt + 4, 2n ** 53n - 32n),
    'TENSOR_DATA_GAP',
  );
  refuse(
    'four dimensions of 2^16 each (2^64 elements)',
    (() => {
      const file = writeGguf('dims-product', [], [{ name: 't', type: GgmlType.F32, dims: [1, 1, 1, 1] }]);
      const b = fs.readFileSync(file);
      // After the 8-byte length, "t" and n_dims: four uint64 dimensions.
      for (let d = 0; d < 4; d++) b.writeBigUInt64LE(2n ** 16n, 24 + 9 + 4 + 8 * d);
      fs.writeFileSync(file, b);
      return file;
    })(),
    'BAD_DIMENSIONS',
  );
  // general.alignment, written as 32 and then patched: after "general.architecture" = "llama" (8 + 20 + 4 +
  // 8 + 5 bytes), the key length 8, "general.alignment" (17) and the type 4.
  const alignment = (name: string, value: number) =>
    u32(name, [architecture, ggufEntry.uint32('general.alignment', 32)], 24 + 45 + 29, value);
  refuse('general.alignment 2^32 - 1', alignment('align-max', 0xffffffff), 'BAD_ALIGNMENT');
  refuse('general.alignment 0', alignment('align-zero', 0), 'BAD_ALIGNMENT');
  refuse('general.alignment 2^31', alignment('align-2-31', 2 ** 31), 'TRUNCATED');
  // Arrays of arrays, written by hand (the writer refuses to nest them past the reader's limit): gguf.cpp
  // reads any depth; the reader allows 16 levels, and refuses deeper before it recurses further.
  const nested = (name: string, levels: number) => {
    const key = (text: string) => {
      const bytes = Buffer.alloc(8 + text.length);
      bytes.writeBigUInt64LE(BigInt(text.length));
      bytes.write(text, 8);
      return bytes;
    };
    const u32le = (value: number) => {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(value);
      return bytes;
    };
    const u64le = (value: bigint) => {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64LE(value);
      return bytes;
    };
    // Each outer level: item type ARRAY, one item; the innermost: one uint8.
    const level = Buffer.concat([u32le(GgufValueType.ARRAY), u64le(1n)]);
    const parts = [
      Buffer.from('GGUF'),
      u32le(3),
      u64le(0n),
      u64le(2n),
      key('general.architecture'),
      u32le(GgufValueType.STRING),
      key(ARCH),
      key('nested'),
      u32le(GgufValueType.ARRAY),
      Buffer.alloc(level.length * (levels - 1), level),
      u32le(GgufValueType.UINT8),
      u64le(1n),
      Buffer.from([1]),
    ];
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    const file = path.join(dir, `${name}.gguf`);
    // Zero padding up to the default alignment, where the (empty) tensor data starts.
    fs.writeFileSync(file, Buffer.concat([...parts, Buffer.alloc((32 - (length % 32)) % 32)]));
    return file;
  };
  accept('arrays nested 16 deep', [nested('nested-16', 16), '--json']);
  refuse('arrays nested 17 deep', nested('nested-17', 17), 'NESTING_TOO_DEEP');
  refuse('arrays nested a million deep', nested('nested-million', 1_000_000), 'NESTING_TOO_DEEP');
  // The context size the memory estimate uses, from the flag, at its limits, with every shape key at its
  // uint32 limit: an estimate, never an allocation.
  const shape = writeGguf('shape-max', [
    architecture,
    ...SUMMARISED_KEYS.slice(1).map((key) => ggufEntry.uint32(key, 0xffffffff)),
  ]);
  accept('--ctx-size 2^53 - 1 over every shape key at the uint32 limit', [
    shape,
    '--ctx-size',
    String(2 ** 53 - 1),
    '--json',
  ]);
  accept('--ctx-size 2^32 - 1, human output', [shape, '--ctx-size', String(2 ** 32 - 1)]);
}, 120_000);

// Runs each case through the built CLI's main() in one child process with a
// fixed heap, and reports each result on file descriptor 3.
const DRIVER = `
import fs from 'node:fs';
import { register } from 'node:module';
// As in jest.preset.js: @alki/* are the sources (tsx compiles them), never a dist/ that may be stale.
const root = process.argv[2];
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  if (!specifier.startsWith('@alki/')) return next(specifier, context);
  const name = specifier.slice('@alki/'.length);
  return next(new URL(name === 'cli' ? 'apps/cli/src/index.ts' : 'packages/' + name + '/src/index.ts', '\${root}').href, context);
}\`));
const { main } = await import(new URL('apps/cli/src/main.ts', root).href);
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const real = { out: process.stdout.write, err: process.stderr.write };
for (const c of cases) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk) => { stdout += String(chunk); return true; };
  process.stderr.write = (chunk) => { stderr += String(chunk); return true; };
  fs.writeSync(3, JSON.stringify({ started: c.name }) + '\\n');
  const started = performance.now();
  const code = await main(c.args);
  const ms = performance.now() - started;
  process.stdout.write = real.out;
  process.stderr.write = real.err;
  // Only what the test checks crosses over, so that a long output does not fill the heap twice.
  let checked;
  if (c.args.includes('--json')) {
    const result = JSON.parse(stdout);
    checked = { architecture: result.summary?.architecture, tensors: result.tensors?.length, error: result.error?.code };
  } else checked = { head: stdout.slice(0, 4096), bytes: stdout.length };
  stdout = '';
  fs.writeSync(3, JSON.stringify({ name: c.name, code, ms, stdout: checked, stderr }) + '\\n');
}
`;

function runCases(
  all: HostileCase[],
): Promise<{ results: CaseResult[]; exit: number | string | null; last?: string; log: string }> {
  const driver = path.join(dir, 'driver.mjs');
  const list = path.join(dir, 'cases.json');
  fs.writeFileSync(driver, DRIVER);
  fs.writeFileSync(list, JSON.stringify(all));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  const root = pathToFileURL(`${path.resolve(cliDir, '../..')}/`).href;
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${HEAP_MB}`, '--import', tsx, driver, root, list],
    { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const results: CaseResult[] = [];
  let last: string | undefined;
  let log = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline)) as CaseResult & { started?: string };
      buffered = buffered.slice(newline + 1);
      if (message.started) last = message.started;
      else results.push(message);
    }
  });
  const deadline = setTimeout(() => child.kill('SIGKILL'), CASE_MS * all.length);
  return new Promise((resolve) => {
    child.on('close', (exit, signal) => {
      clearTimeout(deadline);
      resolve({ results, exit: exit ?? signal, last, log: log.slice(-2000) });
    });
  });
}

describe('alki inspect on hostile headers, under a fixed heap', () => {
  it(`summarises or refuses every case within ${HEAP_MB} MB of heap and ${CASE_MS / 1000} s each`, async () => {
    const run = await runCases(cases);
    // A child killed for its heap exits 134 and names no result for the case it was in.
    expect({
      exit: run.exit,
      unfinished: run.results.length < cases.length ? run.last : undefined,
      log: run.exit ? run.log : '',
    }).toEqual({
      exit: 0,
      unfinished: undefined,
      log: '',
    });
    for (const [i, expected] of cases.entries()) {
      const result = run.results[i];
      expect({ name: result.name, code: result.code }).toEqual({ name: expected.name, code: expected.exit });
      expect(result.ms).toBeLessThan(CASE_MS);
      // One clear line (and a hint), never a stack.
      expect(result.stderr).not.toMatch(/^\s+at /m);
      if (expected.exit === 3) {
        const lines = result.stderr.trim().split('\n');
        expect(lines[0]).toMatch(/^error: /);
        expect(lines.slice(1).every((line) => line.startsWith('hint: '))).toBe(true);
        expect(result.stdout.error).toBe(expected.error);
      } else {
        expect(result.stderr).toBe('');
        if (expected.args.includes('--json')) expect(result.stdout.architecture).toBe(ARCH);
        else expect(result.stdout.head).toMatch(/architecture\s+llama/);
        if (expected.tensors !== undefined) expect(result.stdout.tensors).toBe(expected.tensors);
      }
    }
  }, 300_000);
});
