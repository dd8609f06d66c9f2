import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileSource, GgmlType, readGguf, readTensorData, type GgufFile } from '@alki/gguf-reader';
import { nativeTools, writeSizedLlamaGguf, type SizedLlamaOptions } from '@alki/testkit';
import { BLOCK_FORMATS, type QuantType } from './blocks/block-types.js';
import { QuantizerError } from './errors.js';
import { BUILT_IN_CALIBRATION_TEXT } from './imatrix/compute-imatrix.js';
import { parseKvOverride } from './kv-override.js';
import { quantizeGguf } from './quantize-gguf.js';

const run = promisify(execFile);
let dir: string;
let llamaQuantize: string;
let llamaImatrix: string;
let llamaGgufSplit: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-quantizer-'));
  const { paths } = await nativeTools();
  llamaQuantize = paths['llama-quantize'];
  llamaImatrix = paths['llama-imatrix'];
  llamaGgufSplit = paths['llama-gguf-split'];
}, 900_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fixtures = new Map<string, Promise<string>>();
function fixture(name: string, options: SizedLlamaOptions & { as?: 'F16' | 'BF16' }): Promise<string> {
  if (!fixtures.has(name)) {
    const file = path.join(dir, `${name}.gguf`);
    const written = writeSizedLlamaGguf(file, options).then(async () => {
      if (!options.as) return file;
      // llama-quantize's F16 and BF16 "mixes" turn the 2-D weights to 16 bits and keep norms F32, like a converter's output.
      const converted = path.join(dir, `${name}-${options.as}.gguf`);
      await run(llamaQuantize, [file, converted, options.as, '2']);
      return converted;
    });
    fixtures.set(name, written);
  }
  return fixtures.get(name)!;
}

// Hidden 256 (every block type fits) with 8 layers, so the layer rules pick different types per layer.
const aligned = () =>
  fixture('aligned', { embedding: 256, feedForward: 512, layers: 8, headsKv: 2, seed: 3 });
// Hidden 96 and feed-forward 80: k-quants fall back to 32-blocks, and ffn_down (rows of 80) to F16; tied embeddings.
const unaligned = () =>
  fixture('unaligned', { embedding: 96, feedForward: 80, layers: 3, output: false, seed: 4 });
// Edge-case rows in every weight, in F16 (huge = 2e3, which stays finite in half precision) and in F32 (huge = 1e8).
const edgesF16 = () =>
  fixture('edges-f16', {
    embedding: 256,
    feedForward: 256,
    layers: 2,
    as: 'F16',
    edgeCases: { huge: 2e3 },
    seed: 5,
  });
// Hidden 512 with 8 query heads over 2 key/value heads: n_gqa 4, which several low-bit rules test.
const gqa4 = () =>
  fixture('gqa4', { embedding: 512, feedForward: 256, layers: 4, heads: 8, headsKv: 2, seed: 9 });
const edgesF32 = () =>
  fixture('edges-f32', { embedding: 256, feedForward: 256, layers: 1, edgeCases: { huge: 1e4 }, seed: 6 });

// The aligned model's shape (so its imatrix fits), with each row's 16-weight
// groups cycling through edge cases: Q3_K's search works on four groups side
// by side, and the k-quants' last rounding on four weights at once, and here
// one step holds a zero group, a constant one, tiny, huge and ordinary ones.
function mixedGroups(): Promise<string> {
  if (!fixtures.has('mixed-groups')) {
    const file = path.join(dir, 'mixed-groups.gguf');
    const options = { embedding: 256, feedForward: 512, layers: 8, headsKv: 2, seed: 12 };
    fixtures.set(
      'mixed-groups',
      writeSizedLlamaGguf(file, options).then(async () => {
        const source = await fileSource(file);
        const fd = fs.openSync(file, 'r+');
        try {
          const gguf = await readGguf(source);
          let state = 12;
          const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
          const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
          const groupValue = (kind: number, i: number): number =>
            [
              0,
              -0.25,
              0.25,
              gauss() * 1e-6,
              gauss() * 1e3,
              Math.abs(gauss()) * 0.05,
              gauss() * (i % 16 === 3 ? 50 : 0.05),
              gauss() * 0.05,
            ][kind];
          for (const tensor of gguf.tensors.filter((t) => t.dims.length === 2 && t.type === GgmlType.F32)) {
            const [rowLength, rows] = tensor.dims;
            const values = new Float32Array(rowLength * rows);
            for (let row = 0; row < rows; row++)
              for (let i = 0; i < rowLength; i++)
                values[row * rowLength + i] = groupValue((row * 5 + Math.floor(i / 16)) % 8, i);
            fs.writeSync(
              fd,
              new Uint8Array(values.buffer),
              0,
              values.byteLength,
              gguf.dataOffset + tensor.offset,
            );
          }
        } finally {
          fs.closeSync(fd);
          await source.close?.();
        }
        return file;
      }),
    );
  }
  return fixtures.get('mixed-groups')!;
}

async function referenceFile(input: string, mix: string, flags: string[] = []): Promise<string> {
  const out = path.join(
    dir,
    `ref-${path.basename(input)}-${mix}-${flags.join('_').replace(/[^\w]/g, '')}.gguf`,
  );
  await run(llamaQuantize, [...flags, input, out, mix, '2'], { maxBuffer: 64 << 20 });
  return out;
}

async function reference(input: string, mix: string, flags: string[] = []): Promise<Buffer> {
  return fs.readFileSync(await referenceFile(input, mix, flags));
}

async function ours(
  input: string,
  mix: string,
  options: Partial<Parameters<typeof quantizeGguf>[0]> = {},
): Promise<Buffer> {
  const out = path.join(
    dir,
    `alki-${path.basename(input)}-${mix}-${Math.random().toString(36).slice(2)}.gguf`,
  );
  await quantizeGguf({ input, output: out, mix, threads: 2, ...options });
  return fs.readFileSync(out);
}

function expectSameBytes(actual: Buffer, expected: Buffer): void {
  const firstDifference = actual.findIndex((byte, i) => byte !== expected[i]);
  expect({ length: actual.length, firstDifference }).toEqual({
    length: expected.length,
    firstDifference: -1,
  });
}

const MIXES = [
  'Q2_K',
  'Q3_K_S',
  'Q3_K_M',
  'Q3_K_L',
  'IQ4_NL',
  'IQ4_XS',
  'Q4_K_M',
  'Q4_K_S',
  'Q5_K_M',
  'Q5_K_S',
  'Q6_K',
  'Q8_0',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
];

// One mix per block type (the _S mixes and the single-type ones); --pure gives every tensor that type.
const PURE_MIXES = MIXES.filter((mix) => !mix.endsWith('_M') && !mix.endsWith('_L'));

describe('quantizeGguf against llama-quantize', () => {
  it.each(MIXES)('writes the same file as llama-quantize for %s with a hidden size of 256', async (mix) => {
    const input = await aligned();
    expectSameBytes(await ours(input, mix), await reference(input, mix));
  });

  it.each(['Q2_K', 'Q3_K_M', 'IQ4_XS', 'IQ4_NL', 'Q4_K_M', 'Q5_K_S', 'Q6_K', 'Q8_0'])(
    'writes the same file for %s when rows are not multiples of 256 or 32',
    async (mix) => {
      const input = await unaligned();
      expectSameBytes(await ours(input, mix), await reference(input, mix));
    },
  );

  it.each(PURE_MIXES)(
    'quantizes edge cases (zeros, constants, huge and 1e-6 magnitudes, outliers) to pure %s exactly, from F16 and F32',
    async (mix) => {
      for (const input of [await edgesF16(), await edgesF32()]) {
        expectSameBytes(await ours(input, mix, { pure: true }), await reference(input, mix, ['--pure']));
      }
    },
  );

  it.each(['Q2_K', 'Q3_K_S', 'Q4_K_S', 'Q5_K_S', 'Q6_K'])(
    'quantizes rows whose 16-weight groups mix zeros, constants, tiny, huge and ordinary weights to pure %s exactly, with and without an imatrix',
    async (mix) => {
      const input = await mixedGroups();
      const imatrix = await imatrixOf(await aligned());
      expectSameBytes(await ours(input, mix, { pure: true }), await reference(input, mix, ['--pure']));
      expectSameBytes(
        await ours(input, mix, { pure: true, imatrix: { file: imatrix } }),
        await reference(input, mix, ['--pure', '--imatrix', imatrix]),
      );
    },
    // The first one also writes the model and computes the imatrix.
    180_000,
  );

  it.each(['Q2_K', 'Q3_K_M', 'Q3_K_L', 'IQ4_XS', 'IQ4_NL'])(
    'writes the same file for %s on a model with 4 query heads per key/value head (n_gqa rules)',
    async (mix) => {
      const input = await gqa4();
      expectSameBytes(await ours(input, mix), await reference(input, mix));
    },
  );

  it.each(['Q4_K_M', 'Q5_K_M'])('writes the same file for %s from a BF16 input', async (mix) => {
    const input = await fixture('aligned-bf16', {
      embedding: 256,
      feedForward: 512,
      layers: 4,
      seed: 8,
      as: 'BF16',
    });
    expectSameBytes(await ours(input, mix), await reference(input, mix));
  });

  it('applies --tensor-type overrides the way llama-quantize does', async () => {
    const input = await aligned();
    const overrides = [
      { pattern: 'attn_v', type: 'q8_0' },
      { pattern: 'blk\\.[0-3]\\.ffn_down', type: 'Q5_0' },
    ];
    const flags = overrides.flatMap((o) => ['--tensor-type', `${o.pattern}=${o.type}`]);
    expectSameBytes(
      await ours(input, 'Q4_K_M', { tensorTypeOverrides: overrides }),
      await reference(input, 'Q4_K_M', flags),
    );
  });

  it.each([
    ['--output-tensor-type q8_0', { outputTensorType: 'q8_0' }, ['--output-tensor-type', 'q8_0']],
    ['--token-embedding-type q5_0', { tokenEmbeddingType: 'q5_0' }, ['--token-embedding-type', 'q5_0']],
    ['--leave-output-tensor', { leaveOutputTensor: true }, ['--leave-output-tensor']],
  ] as const)(
    'applies %s as llama-quantize does, on tied and untied embeddings',
    async (_flag, options, flags) => {
      for (const input of [await aligned(), await unaligned()]) {
        expectSameBytes(await ours(input, 'Q3_K_M', options), await reference(input, 'Q3_K_M', [...flags]));
      }
    },
  );

  it('refuses an explicit --token-embedding-type whose blocks do not fit the rows, where llama-quantize fails validation', async () => {
    const input = await unaligned();
    await expect(reference(input, 'Q3_K_M', ['--token-embedding-type', 'q4_k'])).rejects.toThrow(
      'validation failed',
    );
    await expect(ours(input, 'Q3_K_M', { tokenEmbeddingType: 'q4_k' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('token_embd.weight'),
    });
  });

  it('requantizes a quantized file only when allowed, then matches llama-quantize --allow-requantize', async () => {
    const q8 = path.join(dir, 'aligned-q8.gguf');
    await quantizeGguf({ input: await aligned(), output: q8, mix: 'Q8_0', threads: 1 });
    const refused = path.join(dir, 'refused.gguf');
    await expect(quantizeGguf({ input: q8, output: refused, mix: 'Q4_K_M' })).rejects.toMatchObject({
      code: 'REQUANTIZE_REFUSED',
    });
    expect(fs.existsSync(refused)).toBe(false);
    expectSameBytes(
      await ours(q8, 'Q4_K_M', { allowRequantize: true }),
      await reference(q8, 'Q4_K_M', ['--allow-requantize']),
    );
  });
});

describe('quantizeGguf with the metadata and layout flags of llama-quantize', () => {
  it('applies --override-kv of every type after the file type, as llama-quantize does', async () => {
    const input = await aligned();
    const specs = [
      'general.name=str:renamed',
      'llama.context_length=int:-4096',
      'alki.scale=float:1.25',
      'alki.flag=bool:true',
    ];
    expectSameBytes(
      await ours(input, 'Q4_K_M', { metadataOverrides: specs.map(parseKvOverride) }),
      await reference(
        input,
        'Q4_K_M',
        specs.flatMap((spec) => ['--override-kv', spec]),
      ),
    );
  });

  it('drops and renumbers blocks with --prune-layers, and records the new block count', async () => {
    const input = await aligned();
    expectSameBytes(
      await ours(input, 'Q3_K_M', { pruneLayers: [5, 1, 2] }),
      await reference(input, 'Q3_K_M', ['--prune-layers', '1,2,5']),
    );
  });

  it('reads a split model whole, and with --keep-split writes the same shards as llama-quantize', async () => {
    const input = await aligned();
    const splitDir = fs.mkdtempSync(path.join(dir, 'split-'));
    await run(llamaGgufSplit, ['--split', '--split-max-tensors', '30', input, path.join(splitDir, 'in')]);
    const first = path.join(splitDir, 'in-00001-of-00003.gguf');
    expect(fs.existsSync(first)).toBe(true);
    // Without --keep-split: one file, in llama.cpp's tensor order.
    expectSameBytes(await ours(first, 'Q4_K_M'), await reference(first, 'Q4_K_M'));
    // With it: one shard per input shard, tensors in shard order.
    await run(llamaQuantize, ['--keep-split', first, path.join(splitDir, 'ref.gguf'), 'Q4_K_M', '2']);
    const result = await quantizeGguf({
      input: first,
      output: path.join(splitDir, 'ours.gguf'),
      mix: 'Q4_K_M',
      keepSplit: true,
      threads: 2,
    });
    expect(result.outputs.map((file) => path.basename(file))).toEqual([
      'ours-00001-of-00003.gguf',
      'ours-00002-of-00003.gguf',
      'ours-00003-of-00003.gguf',
    ]);
    for (const shard of ['00001', '00002', '00003']) {
      expectSameBytes(
        fs.readFileSync(path.join(splitDir, `ours-${shard}-of-00003.gguf`)),
        fs.readFileSync(path.join(splitDir, `ref-${shard}-of-00003.gguf`)),
      );
    }
    expect(fs.readdirSync(splitDir).filter((name) => name.startsWith('.'))).toEqual([]);

    // A rename that fails part way (shard 2's destination is a directory)
    // leaves shard 1 renamed and a journal; the next quantize to the same
    // output renames shards 2 and 3 first, says so, and then finds it exists.
    const blocked = path.join(splitDir, 'again-00002-of-00003.gguf');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'keep'), '');
    const again = {
      input: first,
      output: path.join(splitDir, 'again.gguf'),
      mix: 'Q4_K_M',
      keepSplit: true,
      threads: 2,
    } as const;
    await expect(quantizeGguf({ ...again, overwrite: true })).rejects.toMatchObject({
      message: expect.stringContaining('The set is recorded in'),
      details: { path: blocked },
    });
    expect(
      fs.readdirSync(splitDir).filter((name) => name.startsWith('.again-') || name.startsWith('.alki-set-')),
    ).toHaveLength(3);
    fs.rmSync(blocked, { recursive: true });
    const warnings: string[] = [];
    await expect(
      quantizeGguf({ ...again, onWarning: (message) => warnings.push(message) }),
    ).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^Completed an interrupted write: renamed .*again-00002-of-00003\.gguf, .*again-00003-of-00003\.gguf into place\.$/,
      ),
    ]);
    for (const shard of ['00001', '00002', '00003']) {
      expectSameBytes(
        fs.readFileSync(path.join(splitDir, `again-${shard}-of-00003.gguf`)),
        fs.readFileSync(path.join(splitDir, `ref-${shard}-of-00003.gguf`)),
      );
    }
    expect(fs.readdirSync(splitDir).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

// llama-imatrix's matrix of a fixture over a few chunks of the built-in text, in either format.
const imatrices = new Map<string, Promise<string>>();
function imatrixOf(input: string, format: 'gguf' | 'dat' = 'gguf'): Promise<string> {
  const file = path.join(dir, `${path.basename(input, '.gguf')}.imatrix.${format}`);
  if (!imatrices.has(file)) {
    const args = ['-m', input, '-f', BUILT_IN_CALIBRATION_TEXT, '-o', file, '-c', '128', '--chunks', '4'];
    imatrices.set(
      file,
      run(llamaImatrix, [...args, '-t', '2', '--output-format', format]).then(() => file),
    );
  }
  return imatrices.get(file)!;
}

// Every mix whose tensors take the importance matrix (Q8_0 ignores it).
const IMATRIX_MIXES = MIXES.filter((mix) => mix !== 'Q8_0').concat('Q2_K_S');

describe('quantizeGguf with an importance matrix, against llama-quantize --imatrix', () => {
  it.each(IMATRIX_MIXES)(
    'writes the same file for %s with a GGUF imatrix (hidden 256, untied)',
    async (mix) => {
      const input = await aligned();
      const imatrix = await imatrixOf(input);
      expectSameBytes(
        await ours(input, mix, { imatrix: { file: imatrix } }),
        await reference(input, mix, ['--imatrix', imatrix]),
      );
    },
  );

  it.each(['Q2_K_S', 'Q3_K_M', 'IQ4_XS', 'IQ4_NL', 'Q4_K_M', 'Q5_0'])(
    'writes the same file for %s with a legacy .dat imatrix on tied embeddings and odd rows, and with 4 query heads per key/value head',
    async (mix) => {
      for (const input of [await unaligned(), await gqa4()]) {
        const imatrix = await imatrixOf(input, 'dat');
        expectSameBytes(
          await ours(input, mix, { imatrix: { file: imatrix } }),
          await reference(input, mix, ['--imatrix', imatrix]),
        );
      }
    },
  );

  it.each([
    ['--include-weights', ['attn_v', 'ffn_down']],
    ['--exclude-weights', ['blk.0.', 'ffn_up']],
  ])('uses the matrix only where %s says, as llama-quantize does', async (flag, names) => {
    const input = await aligned();
    const imatrix = await imatrixOf(input);
    const filter = flag === '--include-weights' ? { includeWeights: names } : { excludeWeights: names };
    expectSameBytes(
      await ours(input, 'Q3_K_M', { imatrix: { file: imatrix, ...filter } }),
      await reference(input, 'Q3_K_M', ['--imatrix', imatrix, ...names.flatMap((name) => [flag, name])]),
    );
  });

  it('refuses Q2_K_S without an importance matrix, naming --imatrix, as llama-quantize does', async () => {
    const input = await aligned();
    await expect(reference(input, 'Q2_K_S')).rejects.toThrow('requires an imatrix');
    const output = path.join(dir, 'no-imatrix.gguf');
    await expect(quantizeGguf({ input, output, mix: 'Q2_K_S' })).rejects.toMatchObject({
      code: 'IMATRIX_REQUIRED',
      category: 'usage',
      hint: expect.stringContaining('--imatrix'),
    });
    expect(fs.existsSync(output)).toBe(false);
  });

  it('refuses Q2_K_S when the filters leave a Q2_K tensor without importance', async () => {
    const input = await aligned();
    await expect(
      ours(input, 'Q2_K_S', { imatrix: { file: await imatrixOf(input), includeWeights: ['attn_v'] } }),
    ).rejects.toMatchObject({
      code: 'IMATRIX_REQUIRED',
      message: expect.stringContaining('blk.0.attn_k.weight'),
    });
  });

  it('refuses an imatrix computed for another model shape', async () => {
    await expect(
      ours(await aligned(), 'Q4_K_M', { imatrix: { file: await imatrixOf(await gqa4()) } }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('importance matrix has'),
    });
  });
});

async function tensorsOf(file: string): Promise<{ header: GgufFile; data: Map<string, Uint8Array> }> {
  const source = await fileSource(file);
  try {
    const header = await readGguf(source);
    const data = new Map<string, Uint8Array>();
    for (const t of header.tensors) data.set(t.name, await readTensorData(source, header, t));
    return { header, data };
  } finally {
    await source.close?.();
  }
}

describe('quantizeGguf --report', () => {
  // The round trip's squared error per output type, from llama.cpp's own dequantization of a file.
  async function squaredErrorsByType(quantized: string, original: string): Promise<Map<string, number>> {
    const expanded = path.join(dir, `report-${Math.random().toString(36).slice(2)}.gguf`);
    await run(llamaQuantize, ['--allow-requantize', quantized, expanded, 'F32', '2']);
    const [q, e, o] = await Promise.all([tensorsOf(quantized), tensorsOf(expanded), tensorsOf(original)]);
    const sums = new Map<string, number>();
    for (const tensor of q.header.tensors) {
      if (tensor.type === GgmlType.F32) continue;
      const restored = new Float32Array(e.data.get(tensor.name)!.slice().buffer);
      const input = new Float32Array(o.data.get(tensor.name)!.slice().buffer);
      let sum = 0;
      for (let i = 0; i < input.length; i++) sum += Math.fround(input[i] - restored[i]) ** 2;
      const type = BLOCK_FORMATS.get(tensor.type as QuantType)!.name;
      sums.set(type, (sums.get(type) ?? 0) + sum);
    }
    return sums;
  }

  it("reports each type's RMSE as llama.cpp's dequantization of the written file gives it, and the same without the imatrix", async () => {
    const input = await aligned();
    const imatrix = await imatrixOf(input);
    const output = path.join(dir, 'report.gguf');
    const result = await quantizeGguf({
      input,
      output,
      mix: 'Q3_K_M',
      imatrix: { file: imatrix },
      report: true,
      threads: 2,
    });
    const withIt = await squaredErrorsByType(output, input);
    const without = await squaredErrorsByType(await referenceFile(input, 'Q3_K_M'), input);
    const rows = result.report!.filter((row) => row.error);
    expect(rows.map((row) => row.type).sort()).toEqual([...withIt.keys()].sort());
    for (const row of rows) {
      expect(row.error!.rmse).toBeCloseTo(Math.sqrt(withIt.get(row.type)! / row.weights), 10);
      expect(row.withoutImatrix!.rmse).toBeCloseTo(Math.sqrt(without.get(row.type)! / row.weights), 10);
    }
    // output.weight (the only Q6_K tensor) has no entry in the matrix: the same both ways, and no weighted figure.
    const q6 = result.report!.find((row) => row.type === 'Q6_K')!;
    expect(q6.withoutImatrix).toEqual(q6.error);
    expect(q6.error!.weightedRmse).toBeUndefined();
    const bytes = result.report!.reduce((sum, row) => sum + row.bytes, 0);
    const header = await tensorsOf(output);
    expect(bytes).toBe(header.header.tensors.reduce((sum, t) => sum + t.byteSize, 0));
  });
});

describe('dequantizers against llama.cpp', () => {
  it.each(PURE_MIXES)(
    'expand %s blocks to the float32 values llama-quantize dequantizes them to',
    async (mix) => {
      const quantized = path.join(dir, `deq-${mix}.gguf`);
      await quantizeGguf({ input: await edgesF16(), output: quantized, mix, pure: true, threads: 2 });
      const expanded = path.join(dir, `deq-${mix}-f32.gguf`);
      // An F32 "mix" with --allow-requantize makes llama-quantize dequantize every weight with ggml's to_float.
      await run(llamaQuantize, ['--allow-requantize', quantized, expanded, 'F32', '2']);
      const ours = await tensorsOf(quantized);
      const reference = await tensorsOf(expanded);
      let compared = 0;
      for (const tensor of ours.header.tensors) {
        const format = BLOCK_FORMATS.get(tensor.type as QuantType);
        if (!format) continue;
        const weights = new Float32Array(tensor.dims.reduce((a, b) => a * b, 1));
        format.dequantize(ours.data.get(tensor.name)!, weights);
        expect(
          Buffer.compare(Buffer.from(weights.buffer), Buffer.from(reference.data.get(tensor.name)!)),
        ).toBe(0);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    },
  );
});

describe('quantizeGguf failures', () => {
  it('rejects a NaN weight, naming the tensor, and leaves no output behind', async () => {
    const input = await fixture('nan', {
      embedding: 64,
      feedForward: 128,
      layers: 1,
      poison: { tensor: 'blk.0.ffn_up.weight', value: Number.NaN },
    });
    const output = path.join(dir, 'nan-out.gguf');
    const error = await quantizeGguf({ input, output, mix: 'Q8_0', threads: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantizerError);
    expect(error).toMatchObject({
      code: 'NON_FINITE_WEIGHT',
      details: { tensor: 'blk.0.ffn_up.weight', index: 5 },
    });
    expect(fs.readdirSync(dir).filter((f) => f.includes('nan-out'))).toEqual([]);
  });

  it('fails like llama-quantize when a block scale overflows half precision, and names the tensor', async () => {
    const input = await fixture('huge', {
      embedding: 256,
      feedForward: 256,
      layers: 1,
      edgeCases: { huge: 1e8 },
      seed: 6,
    });
    await expect(run(llamaQuantize, [input, path.join(dir, 'huge-ref.gguf'), 'Q5_1', '1'])).rejects.toThrow(
      'validation failed',
    );
    await expect(
      quantizeGguf({ input, output: path.join(dir, 'huge-out.gguf'), mix: 'Q5_1' }),
    ).rejects.toMatchObject({
      code: 'SCALE_OVERFLOW',
      details: { tensor: 'output.weight' },
    });
  });

  it.each([
    ['F16', 0x7c00, Infinity],
    ['BF16', 0xffc0, NaN],
  ] as const)('rejects a non-finite %s weight, naming the tensor and the weight', async (as, bits, value) => {
    const converted = await fixture(`poison-${as}`, { embedding: 64, feedForward: 128, layers: 1, as });
    const input = path.join(dir, `poisoned-${as}.gguf`);
    const bytes = fs.readFileSync(converted);
    const { header } = await tensorsOf(converted);
    const tensor = header.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')!;
    bytes.writeUInt16LE(bits, header.dataOffset + tensor.offset + 2 * 37);
    fs.writeFileSync(input, bytes);
    await expect(
      quantizeGguf({ input, output: path.join(dir, `poisoned-${as}-out.gguf`), mix: 'Q4_K_M' }),
    ).rejects.toMatchObject({
      code: 'NON_FINITE_WEIGHT',
      details: { tensor: 'blk.0.ffn_down.weight', index: 37, value: String(value) },
    });
  });

  it('rejects infinity the same way', async () => {
    const input = await fixture('inf', {
      embedding: 64,
      feedForward: 128,
      layers: 1,
      poison: { tensor: 'output.weight', value: -Infinity },
    });
    await expect(
      quantizeGguf({ input, output: path.join(dir, 'inf-out.gguf'), mix: 'Q4_K_M' }),
    ).rejects.toMatchObject({
      code: 'NON_FINITE_WEIGHT',
      details: { tensor: 'output.weight' },
    });
  });

  it('refuses to overwrite an existing output unless asked', async () => {
    const input = await fixture('small', { embedding: 64, feedForward: 128, layers: 1 });
    const output = path.join(dir, 'exists.gguf');
    fs.writeFileSync(output, 'keep me');
    await expect(quantizeGguf({ input, output, mix: 'Q8_0' })).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    expect(fs.readFileSync(output, 'utf8')).toBe('keep me');
    await quantizeGguf({ input, output, mix: 'Q8_0', overwrite: true, threads: 1 });
    expect(fs.readFileSync(output).subarray(0, 4).toString('latin1')).toBe('GGUF');
  });

  it('leaves an output that another process wrote while it worked, unless asked to replace it', async () => {
    const input = await fixture('small', { embedding: 64, feedForward: 128, layers: 1 });
    const output = path.join(dir, 'appeared.gguf');
    // The other writer's file lands after the up-front check, halfway through.
    const appear = (p: { bytesDone: number; bytesTotal: number }) => {
      if (p.bytesDone > p.bytesTotal / 2 && !fs.existsSync(output)) fs.writeFileSync(output, 'theirs');
    };
    await expect(
      quantizeGguf({ input, output, mix: 'Q8_0', threads: 1, onProgress: appear }),
    ).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', message: expect.stringContaining('another process') });
    expect(fs.readFileSync(output, 'utf8')).toBe('theirs');
    expect(fs.readdirSync(dir).filter((f) => f.includes('appeared') && f !== 'appeared.gguf')).toEqual([]);
  });

  it('of two quantizes racing to one output, exactly one writes it', async () => {
    const input = await fixture('small', { embedding: 64, feedForward: 128, layers: 1 });
    const solo = path.join(dir, 'race-solo.gguf');
    await quantizeGguf({ input, output: solo, mix: 'Q8_0', threads: 1 });
    const output = path.join(dir, 'race.gguf');
    const results = await Promise.allSettled([
      quantizeGguf({ input, output, mix: 'Q8_0', threads: 1 }),
      quantizeGguf({ input, output, mix: 'Q8_0', threads: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'OUTPUT_EXISTS' });
    expectSameBytes(fs.readFileSync(output), fs.readFileSync(solo));
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.race.gguf'))).toEqual([]);
  });

  it('stops when aborted and leaves no output behind', async () => {
    const input = await aligned();
    const output = path.join(dir, 'aborted.gguf');
    const controller = new AbortController();
    const promise = quantizeGguf({
      input,
      output,
      mix: 'Q4_K_M',
      onProgress: (p) => p.bytesDone > p.bytesTotal / 4 && controller.abort(new Error('stop')),
      signal: controller.signal,
    });
    await expect(promise).rejects.toThrow('stop');
    expect(fs.readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('rejects an unknown mix before touching the output', async () => {
    const input = await fixture('small', { embedding: 64, feedForward: 128, layers: 1 });
    await expect(
      quantizeGguf({ input, output: path.join(dir, 'x.gguf'), mix: 'Q3_XL' }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_TYPE', category: 'usage' });
  });
});
