// SmolVLM's vision projector (llama.cpp's idefics3): the tensor names,
// shapes, types and clip.* metadata convert_hf_to_gguf --mmproj writes for a
// SmolVLM checkpoint. No Python with torch is on these machines, so the
// expected layout is read from llama.cpp's source at the version Alki runs:
// conversion/smolvlm.py (SmolVLMModel: projector type, layer-norm epsilon
// default 1e-5, scale_factor default 2, preproc_image_size from
// preprocessor_config.json's size.longest_edge, embeddings forced to F32),
// conversion/base.py (MmprojModel.set_gguf_parameters: the common clip.vision
// keys), gguf-py's tensor_mapping.py (model.vision_model.* and
// model.connector.modality_projection.proj -> v.* and mm.model.fc) and
// tools/mtmd/clip.cpp (PROJECTOR_TYPE_IDEFICS3 loads mm.model.fc.weight and
// reads scale_factor and preproc_image_size). llama.cpp's own multimodal CLI
// then loads the projector beside the converted text model and encodes an
// image through it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getMetadata, GgmlType, GgufValueType, type GgufFile } from '@alki/gguf-reader';
import { generateCheckpoint, nativeTools, SIGLIP, SMOLVLM } from '@alki/testkit';
import { convert, convertProjector, hasVisionProjector } from './convert.js';
import { ConverterError } from './errors.js';
import { readSafetensorsHeader } from './safetensors/reader.js';
import { readGgufFile } from './__fixtures__/read-gguf-file.js';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-projector-smolvlm-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// The fixture's text model width (generateCheckpoint's default hidden size).
const TEXT_HIDDEN = 64;

let dir: string;
let mmproj: string;
let gguf: GgufFile;

beforeAll(async () => {
  dir = await generateCheckpoint({ family: 'smolvlm' });
  mmproj = path.join(work, 'mmproj-smolvlm-f16.gguf');
  await convertProjector({ input: dir, output: mmproj });
  gguf = (await readGgufFile(mmproj)).gguf;
}, 300_000);

// A copy of the fixture with config.json edited, the other files linked.
function withConfig(name: string, edit: (config: Record<string, unknown>) => void): string {
  const copy = path.join(work, name);
  fs.mkdirSync(copy);
  for (const file of fs.readdirSync(dir))
    if (file !== 'config.json') fs.symlinkSync(path.join(dir, file), path.join(copy, file));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  edit(config);
  fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify(config));
  return copy;
}

describe('convertProjector (SmolVLM, idefics3)', () => {
  it('is offered for both names SmolVLM checkpoints carry', () => {
    expect(hasVisionProjector('Idefics3ForConditionalGeneration')).toBe(true);
    expect(hasVisionProjector('SmolVLMForConditionalGeneration')).toBe(true);
  });

  it('writes exactly the clip metadata the reference converter writes, with its values', () => {
    const get = (key: string) => getMetadata(gguf, key);
    expect(get('general.architecture')).toBe('clip');
    expect(get('general.type')).toBe('mmproj');
    expect(get('general.file_type')).toBe(1);
    const clipKeys = gguf.metadata.map((e) => e.key).filter((key) => key.startsWith('clip.'));
    expect(clipKeys.sort()).toEqual(
      [
        'clip.has_vision_encoder',
        'clip.projector_type',
        'clip.use_gelu',
        'clip.vision.projection_dim',
        'clip.vision.image_size',
        'clip.vision.patch_size',
        'clip.vision.embedding_length',
        'clip.vision.feed_forward_length',
        'clip.vision.block_count',
        'clip.vision.attention.head_count',
        'clip.vision.attention.layer_norm_epsilon',
        'clip.vision.image_mean',
        'clip.vision.image_std',
        'clip.vision.projector.scale_factor',
        'clip.vision.preproc_image_size',
      ].sort(),
    );
    expect(get('clip.projector_type')).toBe('idefics3');
    expect(get('clip.has_vision_encoder')).toBe(true);
    expect(get('clip.use_gelu')).toBe(true);
    expect(get('clip.vision.projection_dim')).toBe(TEXT_HIDDEN);
    expect(get('clip.vision.image_size')).toBe(SIGLIP.imageSize);
    expect(get('clip.vision.patch_size')).toBe(SIGLIP.patchSize);
    expect(get('clip.vision.embedding_length')).toBe(SIGLIP.hidden);
    expect(get('clip.vision.feed_forward_length')).toBe(SIGLIP.intermediate);
    expect(get('clip.vision.block_count')).toBe(SIGLIP.layers);
    expect(get('clip.vision.attention.head_count')).toBe(SIGLIP.heads);
    // vision_config's layer_norm_eps (the fixture has Idefics3VisionConfig's 1e-6).
    expect(get('clip.vision.attention.layer_norm_epsilon')).toBeCloseTo(1e-6, 12);
    expect(get('clip.vision.image_mean')).toEqual({
      itemType: GgufValueType.FLOAT32,
      items: [0.5, 0.5, 0.5],
    });
    expect(get('clip.vision.image_std')).toEqual({ itemType: GgufValueType.FLOAT32, items: [0.5, 0.5, 0.5] });
    expect(get('clip.vision.projector.scale_factor')).toBe(SMOLVLM.scaleFactor);
    expect(get('clip.vision.preproc_image_size')).toBe(SMOLVLM.longestEdge);
  });

  it('names, shapes and types every tensor as the reference converter does, and nothing of the text model', () => {
    const h = SIGLIP.hidden;
    const expected: Array<[string, number[], GgmlType]> = [
      // SmolVLMModel.tensor_force_quant: ".embeddings." -> F32, the patch embedding's bias too.
      ['v.patch_embd.weight', [SIGLIP.patchSize, SIGLIP.patchSize, 3, h], GgmlType.F32],
      ['v.patch_embd.bias', [h], GgmlType.F32],
      ['v.position_embd.weight', [h, (SIGLIP.imageSize / SIGLIP.patchSize) ** 2], GgmlType.F32],
      ['v.post_ln.weight', [h], GgmlType.F32],
      ['v.post_ln.bias', [h], GgmlType.F32],
      // The connector: pixel-shuffled patches (width x scale²) to the text width, no bias.
      ['mm.model.fc.weight', [h * SMOLVLM.scaleFactor ** 2, TEXT_HIDDEN], GgmlType.F16],
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

  it('copies the connector weight unchanged (F16 in, F16 out)', async () => {
    const { tensor } = await readGgufFile(mmproj);
    const file = path.join(dir, 'model.safetensors');
    const header = await readSafetensorsHeader(file);
    const source = header.tensors.find((t) => t.name === 'model.connector.modality_projection.proj.weight')!;
    const raw = Buffer.alloc(source.byteLength);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, raw, 0, raw.length, source.offset);
    } finally {
      fs.closeSync(fd);
    }
    expect(Buffer.compare(Buffer.from(await tensor('mm.model.fc.weight')), raw)).toBe(0);
  });

  it('refuses a scale_factor that does not divide the patch grid, or that the connector was not built for', async () => {
    const odd = withConfig('odd-scale', (c) => (c.scale_factor = 3));
    const error = await convertProjector({ input: odd, output: path.join(work, 'odd.gguf') }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConverterError);
    expect((error as Error).message).toBe(
      "config.json's scale_factor is 3, which does not divide the 4 patches a side of vision_config (image_size / patch_size).",
    );
    const four = withConfig('scale-four', (c) => (c.scale_factor = 4));
    await expect(convertProjector({ input: four, output: path.join(work, 'four.gguf') })).rejects.toThrow(
      "config.json's scale_factor is 4, so the connector should take 32 x 4² = 512 inputs, but model.connector.modality_projection.proj.weight takes 128.",
    );
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.gguf') && f !== path.basename(mmproj))).toEqual(
      [],
    );
  });

  it('converts a checkpoint named SmolVLMForConditionalGeneration (SmolVLM2) the same way', async () => {
    const renamed = withConfig(
      'smolvlm2-name',
      (c) => (c.architectures = ['SmolVLMForConditionalGeneration']),
    );
    const output = path.join(work, 'renamed.gguf');
    const result = await convertProjector({ input: renamed, output });
    expect(result.projectorType).toBe('idefics3');
    const again = (await readGgufFile(output)).gguf;
    expect(again.tensors.map((t) => [t.name, t.dims, t.type])).toEqual(
      gguf.tensors.map((t) => [t.name, t.dims, t.type]),
    );
    fs.rmSync(output);
  });

  it("refuses a vision_config whose widths are not the tower's, as SmolVLM2's defaults would be for this tower", async () => {
    // SmolVLM2's vision_config (smolvlm_vision) may leave hidden_size out; the reference then takes 1152.
    const smolvlm2 = withConfig('smolvlm2-defaults', (c) => {
      const vision = c.vision_config as Record<string, unknown>;
      vision.model_type = 'smolvlm_vision';
      delete vision.hidden_size;
    });
    await expect(
      convertProjector({ input: smolvlm2, output: path.join(work, 'defaults.gguf') }),
    ).rejects.toThrow(
      `config.json's vision_config.hidden_size is 1152, but model.vision_model.embeddings.patch_embedding.weight has ${SIGLIP.hidden} there (shape [${SIGLIP.hidden}, 3, ${SIGLIP.patchSize}, ${SIGLIP.patchSize}]).`,
    );
    const ffn = withConfig(
      'wrong-ffn',
      (c) => ((c.vision_config as Record<string, unknown>).intermediate_size = 96),
    );
    await expect(convertProjector({ input: ffn, output: path.join(work, 'ffn.gguf') })).rejects.toThrow(
      `config.json's vision_config.intermediate_size is 96, but model.vision_model.encoder.layers.0.mlp.fc1.weight has ${SIGLIP.intermediate} there`,
    );
    expect(
      fs.existsSync(path.join(work, 'defaults.gguf')) || fs.existsSync(path.join(work, 'ffn.gguf')),
    ).toBe(false);
  });

  it('loads in llama-mtmd-cli beside the converted text model, which encodes an image through it', async () => {
    const tools = await nativeTools();
    const cli = tools.paths['llama-mtmd-cli'];
    const text = path.join(work, 'smolvlm-f16.gguf');
    const converted = await convert({ input: dir, output: text });
    expect(converted.ggufArchitecture).toBe('llama');
    // A 48x32 binary PPM (stb_image reads it): resized to 64x42, then cut into 2x2 tiles of 32 plus the global image.
    const [width, height] = [48, 32];
    const pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++)
      pixels.set([(i % width) * 5, 64, Math.floor(i / width) * 8], i * 3);
    const image = path.join(work, 'gradient.ppm');
    fs.writeFileSync(image, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), pixels]));
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
        // The fixture's SmolVLM-style chat template is not one llama.cpp knows by name.
        '--jinja',
      ],
      { timeout: 240_000, maxBuffer: 16 << 20 },
    );
    const log = `${stdout}\n${stderr}`;
    // Five images went through the projector, as llama.cpp's idefics3 preprocessing cuts it with
    // preproc_image_size 64: the global image and the four tiles.
    expect(log.match(/mtmd batch encoding done in \d+ ms/g)).toHaveLength(5);
  }, 300_000);
});
