import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createGgufWriter,
  fileSource,
  ggufEntry,
  openGguf,
  readGguf,
  readTensorData,
  summarizeGguf,
  type GgufFile,
  type GgufSummary,
  type GgufValue,
} from '@alki/gguf-reader';
import { pack } from '@alki/bundler';
import { downloadFile } from '@alki/hub';
import { cachedTinyLlamaGguf, fixtureCacheDir, nativeTools, startFakeHub, type FakeHub } from '@alki/testkit';
import { readGgufFileInfo } from 'node-llama-cpp';
import { runCli } from '../test-support.js';

const run = promisify(execFile);

/** What `alki inspect --json` prints. */
interface InspectJson {
  source: { kind: string; location: string; repo?: string; commit?: string; file?: string };
  summary: GgufSummary;
  tensors: Array<{ name: string; dims: number[]; shard: number }>;
  metadata: Array<{ key: string; type: string; value: unknown }>;
}

const inspectJson = (stdout: string) => JSON.parse(stdout) as InspectJson;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-inspect-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// llama-quantize output types, with the general.file_type llama.cpp writes
// (enum llama_ftype in include/llama.h).
const QUANT_TYPES: Array<[string, number]> = [
  ['Q8_0', 7],
  ['Q4_0', 2],
  ['Q4_K_M', 15],
  ['Q6_K', 18],
  ['Q5_K_S', 16],
  ['Q2_K', 10],
];

let source: string;
const quantized = new Map<string, string>();

beforeAll(async () => {
  // ffn 256 makes ffn_down rows a multiple of QK_K, so K-quants really appear.
  source = (await cachedTinyLlamaGguf({ feedForwardLength: 256 })).path;
  const quantize = (await nativeTools()).paths['llama-quantize'];
  const cache = fixtureCacheDir('inspect', path.basename(source, '.gguf'));
  for (const [type] of QUANT_TYPES) {
    const out = path.join(cache, `tiny-${type}.gguf`);
    if (!fs.existsSync(out)) {
      const partial = `${out}.${process.pid}.partial`;
      await run(quantize, [source, partial, type, '2']);
      fs.renameSync(partial, out);
    }
    quantized.set(type, out);
  }
}, 300_000);

/** Plain JS for comparison with node-llama-cpp: arrays unwrapped, exact 64-bit integers as numbers. */
function plain(value: GgufValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object') return value.items.map(plain);
  return value;
}

function lookup(nested: unknown, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], nested);
}

describe('GGUFs written by llama-quantize', () => {
  it.each(QUANT_TYPES)('%s: every field matches node-llama-cpp readGgufFileInfo', async (type, fileType) => {
    const file = quantized.get(type)!;
    const mine = await openGguf(file);
    const theirs = await readGgufFileInfo(file, { logWarnings: false });
    expect(mine.version).toBe(theirs.version);
    expect(mine.tensors.length).toBe(Number(theirs.tensorCount));
    expect(mine.dataOffset).toBe(theirs.infoEndOffset);
    for (const entry of mine.metadata) {
      const expected = lookup(theirs.metadata, entry.key);
      expect([entry.key, plain(entry.value)]).toEqual([
        entry.key,
        Array.isArray(expected)
          ? (expected as unknown[]).map((v) => (typeof v === 'bigint' ? Number(v) : v))
          : typeof expected === 'bigint'
            ? Number(expected)
            : expected,
      ]);
    }
    expect(mine.tensors.map((t) => [t.name, t.dims, t.type, t.offset, mine.dataOffset + t.offset])).toEqual(
      theirs.tensorInfo!.map((t) => [
        t.name,
        t.dimensions.map(Number),
        t.ggmlType,
        Number(t.offset),
        Number(t.fileOffset),
      ]),
    );
    const summary = summarizeGguf(mine);
    expect(summary.fileType?.id).toBe(fileType);
    // Tensor data ends where the file ends (gguf.cpp pads after the last tensor too).
    expect(summary.fileSize).toBe(fs.statSync(file).size);
  });

  it('K-quant mixes really contain K-quant tensors', async () => {
    const summary = summarizeGguf(await openGguf(quantized.get('Q4_K_M')!));
    const types = summary.tensorTypes.map((t) => t.type);
    expect(types).toEqual(expect.arrayContaining(['F32']));
    expect(types.some((t) => t === 'Q4_K' || t === 'Q6_K')).toBe(true);
  });

  it.each(QUANT_TYPES.map(([type]) => [type]))(
    '%s: reading and writing back unchanged gives identical bytes',
    async (type) => {
      const file = quantized.get(type)!;
      const input = await fileSource(file);
      let parsed: GgufFile;
      const copy = path.join(dir, `copy-${type}.gguf`);
      try {
        parsed = await readGguf(input);
        const writer = await createGgufWriter(
          copy,
          {
            metadata: parsed.metadata,
            tensors: parsed.tensors.map(({ name, type: t, dims }) => ({ name, type: t, dims })),
          },
          { version: parsed.version, littleEndian: parsed.littleEndian },
        );
        expect(writer.tensors).toEqual(parsed.tensors);
        for (const tensor of parsed.tensors)
          await writer.writeTensorData(await readTensorData(input, parsed, tensor));
        await writer.finish();
      } finally {
        await input.close?.();
      }
      expect(fs.readFileSync(copy).equals(fs.readFileSync(file))).toBe(true);
    },
  );
});

describe('alki inspect <file>', () => {
  it('prints the summary as a table', async () => {
    const { code, stdout, stderr } = await runCli(['inspect', quantized.get('Q8_0')!]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^architecture\s+llama$/m);
    expect(stdout).toMatch(/^file type\s+MOSTLY_Q8_0 \(7\)$/m);
    expect(stdout).toMatch(/^heads \/ KV heads\s+4 \/ 4$/m);
    expect(stdout).toMatch(/^vocabulary\s+130 \(gpt2\)$/m);
    expect(stdout).toMatch(/^chat template\s+yes$/m);
    expect(stdout).toMatch(/^memory @ ctx 256\s+.*KV cache 128\.0 KiB\)$/m);
  });

  it("reads a bundle directory's served model, or the one --filename picks; a plain directory is exit 3", async () => {
    const bundle = path.join(dir, 'bundle');
    await pack({ source: quantized.get('Q8_0')!, out: bundle, name: 'inspected', quantize: ['Q8_0'] });
    const served = await runCli(['inspect', bundle, '--json']);
    expect(served.code).toBe(0);
    const report = JSON.parse(served.stdout) as {
      source: { location: string };
      summary: { fileType: { name: string } };
    };
    expect(report.source.location).toBe(path.join(bundle, 'models', 'inspected-q8_0.gguf'));
    expect(report.summary.fileType.name).toBe('MOSTLY_Q8_0');
    const picked = await runCli(['inspect', bundle, '--filename', '*q4_k_m.gguf']);
    expect(picked.code).toBe(3);
    expect(picked.stderr).toContain('inspected-q8_0.gguf');
    const plain = await runCli(['inspect', dir]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain(`${dir} is not an Alki bundle: metadata/manifest.json is missing.`);
  });

  it('refuses a bundle whose model is a link to a file outside it, as alki verify does (exit 3)', async () => {
    const bundle = path.join(dir, 'linked-bundle');
    await pack({ source: quantized.get('Q8_0')!, out: bundle, name: 'linked', quantize: ['Q8_0'] });
    const model = path.join(bundle, 'models', 'linked-q8_0.gguf');
    const outside = path.join(dir, 'outside-q8_0.gguf');
    fs.renameSync(model, outside);
    fs.symlinkSync(outside, model);
    const { code, stdout, stderr } = await runCli(['inspect', bundle]);
    expect({ code, stdout }).toEqual({ code: 3, stdout: '' });
    expect(stderr).toContain('models/linked-q8_0.gguf is a symbolic link');
    expect((await runCli(['verify', bundle])).code).toBe(1);
  });

  it('refuses a named pipe at once instead of blocking on it (exit 3)', async () => {
    const fifo = path.join(dir, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    const { code, stderr } = await runCli(['inspect', fifo]);
    expect(code).toBe(3);
    expect(stderr).toContain(`error: ${fifo} is a named pipe (FIFO), not a regular file`);
  });

  it('prints JSON with --json, tensors with --tensors and metadata with long arrays cut short', async () => {
    const file = quantized.get('Q4_K_M')!;
    const { code, stdout } = await runCli([
      'inspect',
      file,
      '--json',
      '--tensors',
      '--metadata',
      '--max-items',
      '3',
      '--ctx-size',
      '64',
    ]);
    expect(code).toBe(0);
    const result = inspectJson(stdout);
    expect(result.source).toMatchObject({ kind: 'file', location: file });
    expect(result.summary).toMatchObject({
      architecture: 'llama',
      blockCount: 2,
      embeddingLength: 64,
      vocabSize: 130,
      memory: { contextSize: 64 },
    });
    // 2 layers x (16 + 16) x 4 KV heads x 64 positions x 2 bytes (F16 cache).
    expect(result.summary.memory.kvCacheBytes).toBe(2 * 32 * 4 * 64 * 2);
    expect(result.tensors).toHaveLength(2 + 2 * 9 + 1);
    expect(result.tensors.find((t) => t.name === 'token_embd.weight')).toMatchObject({
      dims: [64, 130],
      shard: 0,
    });
    const tokens = result.metadata.find((m) => m.key === 'tokenizer.ggml.tokens');
    expect(tokens).toEqual({
      key: 'tokenizer.ggml.tokens',
      type: 'ARRAY[STRING]',
      value: { count: 130, items: ['<s>', '</s>', '<|im_start|>'], truncated: true },
    });
  });

  it('lists tensors and metadata as text', async () => {
    const { code, stdout } = await runCli(['inspect', source, '--tensors', '--metadata']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^blk\.0\.ffn_down\.weight\s+F32\s+\[256, 64\]\s+64\.0 KiB$/m);
    expect(stdout).toMatch(/^llama\.attention\.layer_norm_rms_epsilon\s+FLOAT32\s+0\.00001$/m);
    expect(stdout).toMatch(
      /^tokenizer\.ggml\.tokens\s+ARRAY\[STRING\]\s+\["<s>", .*\.\.\. 122 more\] \(130\)$/m,
    );
  });

  it('reports a damaged file in one line with exit code 3, and as JSON with --json', async () => {
    const bytes = fs.readFileSync(source);
    const damaged = path.join(dir, 'damaged.gguf');
    // Cut inside the last tensor info.
    fs.writeFileSync(damaged, bytes.subarray(0, (await openGguf(source)).dataOffset - 40));
    const { code, stderr } = await runCli(['inspect', damaged]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/^error: The file ends inside .* \(at byte \d+\)$/m);
    expect(stderr).not.toMatch(/\n\s+at /);
    const json = await runCli(['inspect', damaged, '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'TRUNCATED', category: 'input' } });
    const missing = await runCli(['inspect', path.join(dir, 'nope.gguf')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`error: ${path.join(dir, 'nope.gguf')} does not exist.`);
    const relative = await runCli(['inspect', 'models/missing.gguf']);
    expect(relative.code).toBe(3);
    expect(relative.stderr).toContain('error: models/missing.gguf does not exist.');
  });

  it('reads a split model as one, given any shard', async () => {
    const parsed = await openGguf(source);
    const half = Math.ceil(parsed.tensors.length / 2);
    const input = await fileSource(source);
    try {
      const parts = [parsed.tensors.slice(0, half), parsed.tensors.slice(half)];
      for (const [index, tensors] of parts.entries()) {
        // gguf-split keeps the full metadata in the first shard and split.* keys in all.
        const split = [
          ggufEntry.uint16('split.no', index),
          ggufEntry.uint16('split.count', 2),
          ggufEntry.int32('split.tensors.count', parsed.tensors.length),
        ];
        const metadata = index === 0 ? [...parsed.metadata, ...split] : split;
        const shard = path.join(dir, `split-0000${index + 1}-of-00002.gguf`);
        const writer = await createGgufWriter(shard, {
          metadata,
          tensors: tensors.map(({ name, type, dims }) => ({ name, type, dims })),
        });
        for (const tensor of tensors)
          await writer.writeTensorData(await readTensorData(input, parsed, tensor));
        await writer.finish();
      }
    } finally {
      await input.close?.();
    }
    const { code, stdout } = await runCli([
      'inspect',
      path.join(dir, 'split-00002-of-00002.gguf'),
      '--json',
      '--tensors',
    ]);
    expect(code).toBe(0);
    const result = inspectJson(stdout);
    expect(result.summary).toMatchObject({
      shards: 2,
      tensorCount: parsed.tensors.length,
      architecture: 'llama',
    });
    expect(result.summary.parameterCount).toBe(summarizeGguf(parsed).parameterCount);
    expect(result.tensors.map((t) => t.shard)).toEqual(parsed.tensors.map((_, i) => (i < half ? 0 : 1)));
  });

  it('rejects a bad --ctx-size as a usage error', async () => {
    const { code } = await runCli(['inspect', source, '--ctx-size', '-4']);
    expect(code).toBe(2);
  });
});

describe('alki inspect on the hub and over HTTP', () => {
  let hub: FakeHub;
  const saved = {
    HF_ENDPOINT: process.env.HF_ENDPOINT,
    HF_TOKEN: process.env.HF_TOKEN,
    HF_HUB_CACHE: process.env.HF_HUB_CACHE,
    HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE,
  };

  beforeAll(async () => {
    const q8 = fs.readFileSync(quantized.get('Q8_0')!);
    const q4 = fs.readFileSync(quantized.get('Q4_K_M')!);
    hub = await startFakeHub({
      tokens: ['hf_reader'],
      repos: [
        {
          id: 'acme/tiny-GGUF',
          files: { 'tiny-Q8_0.gguf': q8, 'tiny-Q4_K_M.gguf': q4, 'README.md': '# tiny' },
        },
        { id: 'acme/private-GGUF', private: true, files: { 'model.gguf': q8 } },
      ],
    });
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = path.join(dir, 'hf-cache');
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
  });

  afterAll(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await hub.stop();
  });

  it('reads org/name --filename by range requests, without downloading the weights', async () => {
    hub.clearRequests();
    const { code, stdout } = await runCli([
      'inspect',
      'acme/tiny-GGUF',
      '--filename',
      '*Q4_K_M.gguf',
      '--json',
    ]);
    expect(code).toBe(0);
    const result = inspectJson(stdout);
    expect(result.source).toMatchObject({
      kind: 'hub',
      repo: 'acme/tiny-GGUF',
      file: 'tiny-Q4_K_M.gguf',
      commit: hub.commitOf('acme/tiny-GGUF'),
    });
    expect(result.summary.fileType).toEqual({ id: 15, name: 'MOSTLY_Q4_K_M' });
    const fileRequests = hub.requests.filter((r) => r.path.includes('/resolve/'));
    expect(fileRequests.length).toBeGreaterThan(0);
    expect(fileRequests.every((r) => r.range !== undefined)).toBe(true);
  });

  it('asks for --filename when the repo has several GGUFs', async () => {
    const { code, stderr } = await runCli(['inspect', 'acme/tiny-GGUF']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/2 GGUF models in acme\/tiny-GGUF: tiny-Q4_K_M\.gguf, tiny-Q8_0\.gguf/);
    expect(stderr).toMatch(/--filename/);
  });

  it('sends HF_TOKEN to the hub for a private repo', async () => {
    expect((await runCli(['inspect', 'acme/private-GGUF'])).code).toBe(4);
    process.env.HF_TOKEN = 'hf_reader';
    try {
      hub.clearRequests();
      const { code } = await runCli(['inspect', 'acme/private-GGUF', '--json']);
      expect(code).toBe(0);
      expect(
        hub.requests
          .filter((r) => r.path.includes('/resolve/'))
          .every((r) => r.authorization === 'Bearer hf_reader'),
      ).toBe(true);
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  it('reads the Hugging Face cache with HF_HUB_OFFLINE, without any request', async () => {
    await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf');
    process.env.HF_HUB_OFFLINE = '1';
    try {
      hub.clearRequests();
      const { code, stdout } = await runCli(['inspect', 'acme/tiny-GGUF', '--filename', '*Q8_0*', '--json']);
      expect(code).toBe(0);
      const result = inspectJson(stdout);
      expect(result.source.location).toContain(path.join(dir, 'hf-cache'));
      expect(result.summary.fileType?.name).toBe('MOSTLY_Q8_0');
      expect(hub.requests).toEqual([]);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
  });

  it('resumes a hub read that stalls mid-response, and exits 4 when it never recovers', async () => {
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = '0.3';
    try {
      const url = `${hub.url}/acme/tiny-GGUF/resolve/main/tiny-Q8_0.gguf`;
      hub.inject({ kind: 'stall', repo: 'acme/tiny-GGUF', path: 'tiny-Q8_0.gguf', afterBytes: 500 });
      hub.clearRequests();
      const resumed = await runCli(['inspect', url, '--json']);
      expect(resumed.code).toBe(0);
      expect(inspectJson(resumed.stdout).summary.fileType?.name).toBe('MOSTLY_Q8_0');
      expect(hub.requests.map((r) => r.range).slice(0, 2)).toEqual(['bytes=0-65535', 'bytes=500-65535']);

      hub.inject({
        kind: 'stall',
        repo: 'acme/tiny-GGUF',
        path: 'tiny-Q8_0.gguf',
        afterBytes: 500,
        times: 3,
      });
      const started = Date.now();
      const stalled = await runCli(['inspect', url]);
      expect(stalled.code).toBe(4);
      expect(stalled.stderr).toMatch(/^error: .*sent nothing for 0.3 s/);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      delete process.env.HF_HUB_DOWNLOAD_TIMEOUT;
    }
  });

  it('reads a plain URL', async () => {
    const url = `${hub.url}/acme/tiny-GGUF/resolve/main/tiny-Q8_0.gguf`;
    const { code, stdout } = await runCli(['inspect', url, '--json']);
    expect(code).toBe(0);
    expect(inspectJson(stdout).summary.fileType?.name).toBe('MOSTLY_Q8_0');
  });
});
