// The vision projector (mmproj) of a Gemma 3 vision-language checkpoint:
// the tensor names, shapes, types and clip.* metadata convert_hf_to_gguf
// writes for it (conversion/gemma.py Gemma3VisionModel, base.py
// MmprojModel, gguf-py constants), and llama.cpp's own multimodal CLI loads
// it beside the converted text model and encodes an image through it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getMetadata, GgmlType, GgufValueType, type GgufFile } from '@alki/gguf-reader';
import { generateCheckpoint, nativeTools, SIGLIP } from '@alki/testkit';
import { convert, convertProjector } from './convert.js';
import { readGgufFile } from './__fixtures__/read-gguf-file.js';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-projector-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let dir: string;
let mmproj: string;
let gguf: GgufFile;

beforeAll(async () => {
  dir = await generateCheckpoint({ family: 'gemma3-vlm' });
  mmproj = path.join(work, 'mmproj-f16.gguf');
  await convertProjector({ input: dir, output: mmproj });
  gguf = (await readGgufFile(mmproj)).gguf;
}, 300_000);

describe('convertProjector (Gemma 3)', () => {
  it('writes the clip metadata llama.cpp reads, from config.json and preprocessor_config.json', () => {
    const get = (key: string) => getMetadata(gguf, key);
    expect(get('general.architecture')).toBe('clip');
    expect(get('general.type')).toBe('mmproj');
    expect(get('general.file_type')).toBe(1);
    expect(get('clip.projector_type')).toBe('gemma3');
    expect(get('clip.has_vision_encoder')).toBe(true);
    expect(get('clip.use_gelu')).toBe(true);
    expect(get('clip.vision.projection_dim')).toBe(64);
    expect(get('clip.vision.image_size')).toBe(SIGLIP.imageSize);
    expect(get('clip.vision.patch_size')).toBe(SIGLIP.patchSize);
    expect(get('clip.vision.embedding_length')).toBe(SIGLIP.hidden);
    expect(get('clip.vision.feed_forward_length')).toBe(SIGLIP.intermediate);
    expect(get('clip.vision.block_count')).toBe(SIGLIP.layers);
    expect(get('clip.vision.attention.head_count')).toBe(SIGLIP.heads);
    expect(get('clip.vision.attention.layer_norm_epsilon')).toBeCloseTo(1e-6, 12);
    expect(get('clip.vision.image_mean')).toEqual({
      itemType: GgufValueType.FLOAT32,
      items: [0.5, 0.5, 0.5],
    });
    expect(get('clip.vision.image_std')).toEqual({ itemType: GgufValueType.FLOAT32, items: [0.5, 0.5, 0.5] });
    // 32 / 8 = 4 patches a side pooled to sqrt(4) = 2 tokens a side: a factor of 2, not llama.cpp's default 4.
    expect(get('clip.vision.projector.scale_factor')).toBe(2);
  });

  it('names, shapes and types every tensor as the reference converter does, and nothing of the text model', () => {
    const h = SIGLIP.hidden;
    const expected: Array<[string, number[], GgmlType]> = [
      ['v.patch_embd.weight', [SIGLIP.patchSize, SIGLIP.patchSize, 3, h], GgmlType.F32],
      ['v.patch_embd.bias', [h], GgmlType.F32],
      ['v.position_embd.weight', [h, (SIGLIP.imageSize / SIGLIP.patchSize) ** 2], GgmlType.F32],
      ['v.post_ln.weight', [h], GgmlType.F32],
      ['v.post_ln.bias', [h], GgmlType.F32],
      ['mm.input_projection.weight', [64, h], GgmlType.F16],
      ['mm.soft_emb_norm.weight', [h], GgmlType.F32],
    ];
    for (let i = 0; i < SIGLIP.layers; i++) {
      for (const name of ['attn_q', 'attn_k', 'attn_v', 'attn_out'])
        expected.push(
          [`v.blk.${i}.${name}.weight`, [h, h], GgmlType.F16],
          [`v.blk.${i}.${name}.bias`, [h], GgmlType.F32],
        );
      for (const name of ['ln1', 'ln2'])
        expected.push(
          [`v.blk.${i}.${name}.weight`, [h], GgmlType.F32],
          [`v.blk.${i}.${name}.bias`, [h], GgmlType.F32],
        );
      expected.push(
        [`v.blk.${i}.ffn_up.weight`, [h, SIGLIP.intermediate], GgmlType.F16],
        [`v.blk.${i}.ffn_up.bias`, [SIGLIP.intermediate], GgmlType.F32],
        [`v.blk.${i}.ffn_down.weight`, [SIGLIP.intermediate, h], GgmlType.F16],
        [`v.blk.${i}.ffn_down.bias`, [h], GgmlType.F32],
      );
    }
    const actual = gguf.tensors.map((t) => [t.name, t.dims, t.type]);
    expect(actual.sort()).toEqual(expected.sort());
  });

  it('adds 1 to the soft-embedding norm (a Gemma RMSNorm) and to nothing else', async () => {
    const { tensor: data } = await readGgufFile(mmproj);
    const floats = async (name: string) => new Float32Array(Uint8Array.from(await data(name)).buffer);
    const norm = await floats('mm.soft_emb_norm.weight');
    const ln = await floats('v.post_ln.weight');
    // The fixture draws norm weights around 1: shifted they sit around 2.
    expect(norm.reduce((a, b) => a + b, 0) / norm.length).toBeGreaterThan(1.6);
    expect(ln.reduce((a, b) => a + b, 0) / ln.length).toBeLessThan(1.4);
  });

  it('is refused for a checkpoint without a vision tower', async () => {
    const text = await generateCheckpoint({ family: 'gemma3' });
    await expect(convertProjector({ input: text, output: path.join(work, 'none.gguf') })).rejects.toThrow(
      'Architecture "Gemma3ForCausalLM" has no vision projector Alki converts',
    );
  });

  it('loads in llama-mtmd-cli beside the converted text model, which encodes an image through it', async () => {
    const tools = await nativeTools();
    const cli = tools.paths['llama-mtmd-cli'];
    const text = path.join(work, 'text-f16.gguf');
    await convert({ input: dir, output: text });
    // A 32x32 binary PPM (stb_image reads it): a red-to-blue gradient.
    const side = 32;
    const pixels = Buffer.alloc(side * side * 3);
    for (let i = 0; i < side * side; i++) pixels.set([(i % side) * 8, 64, (i >> 5) * 8], i * 3);
    const image = path.join(work, 'gradient.ppm');
    fs.writeFileSync(image, Buffer.concat([Buffer.from(`P6\n${side} ${side}\n255\n`), pixels]));
    const { stdout, stderr } = await run(
      cli,
      [
        '-m',
        text,
        '--mmproj',
        mmproj,
        '--image',
        image,
        '-p',
        'Describe the image.',
        '-n',
        '4',
        '--temp',
        '0',
        '-t',
        '2',
        '-c',
        '512',
      ],
      { timeout: 240_000, maxBuffer: 16 << 20 },
    );
    // The prompt, the image and the rest of the prompt: the image chunk went through the projector.
    expect(`${stdout}\n${stderr}`).toMatch(/mtmd batch encoding done in \d+ ms/);
  }, 300_000);
});
