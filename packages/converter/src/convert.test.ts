import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getMetadata, GgmlType } from '@alki/gguf-reader';
import { generateCheckpoint, nativeTools } from '@alki/testkit';
import { llamaArchitecture } from './arch/llama.js';
import { ArchitectureRegistry, defaultArchitectures } from './arch/registry.js';
import { qwen3Architecture } from './arch/qwen3.js';
import { convert } from './convert.js';
import { readSafetensorsHeader } from './safetensors/reader.js';
import { readGgufFile } from './__fixtures__/read-gguf-file.js';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-convert-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function halfToFloat(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** A copy of a checkpoint folder in which `edit` may change files. */
function copyCheckpoint(from: string, name: string, edit?: (dir: string) => void): string {
  const dir = path.join(work, name);
  fs.cpSync(from, dir, { recursive: true });
  edit?.(dir);
  return dir;
}

let tiny: string;
beforeAll(async () => {
  tiny = await generateCheckpoint({ family: 'tinyllama' });
}, 600_000);

describe('convert', () => {
  it('copies F16 weights into an F32 GGUF exactly, permuting only q and k rows per head', async () => {
    const output = path.join(work, 'tiny-f32.gguf');
    const result = await convert({ input: tiny, output, outtype: 'f32' });
    expect(result).toMatchObject({
      architecture: 'LlamaForCausalLM',
      ggufArchitecture: 'llama',
      outtype: 'f32',
      tokenizer: { model: 'llama' },
      chatTemplate: true,
    });
    const { gguf, tensor } = await readGgufFile(output);
    const header = await readSafetensorsHeader(path.join(tiny, 'model.safetensors'));
    const bytes = fs.readFileSync(path.join(tiny, 'model.safetensors'));
    const hf = (name: string) => {
      const t = header.tensors.find((x) => x.name === name)!;
      return {
        shape: t.shape,
        values: Array.from({ length: t.byteLength / 2 }, (_, i) =>
          halfToFloat(bytes.readUInt16LE(t.offset + i * 2)),
        ),
      };
    };
    const asFloats = (data: Uint8Array) =>
      Array.from(new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
    // Not permuted: v and the embeddings are the same values in the same order.
    expect(asFloats(await tensor('blk.0.attn_v.weight'))).toEqual(
      hf('model.layers.0.self_attn.v_proj.weight').values,
    );
    expect(gguf.tensors.find((t) => t.name === 'token_embd.weight')?.dims).toEqual([64, 32000]);
    // q: in each head of 16 rows, GGUF row 2i+j is HF row j*8+i.
    const q = hf('model.layers.1.self_attn.q_proj.weight');
    const ggufQ = asFloats(await tensor('blk.1.attn_q.weight'));
    const row = (values: number[], r: number) => values.slice(r * 64, (r + 1) * 64);
    for (const [ggufRow, hfRow] of [
      [0, 0],
      [1, 8],
      [2, 1],
      [15, 15],
      [16 + 3, 16 + 9],
    ])
      expect(row(ggufQ, ggufRow)).toEqual(row(q.values, hfRow));
    // k uses the key-value head count (2 heads of 16 rows here).
    const k = hf('model.layers.0.self_attn.k_proj.weight');
    expect(row(asFloats(await tensor('blk.0.attn_k.weight')), 17)).toEqual(row(k.values, 24));
    expect(getMetadata(gguf, 'general.file_type')).toBe(0);
    expect(getMetadata(gguf, 'llama.attention.head_count_kv')).toBe(2);
  });

  it('writes Q8_0 blocks bit for bit as llama-quantize does, keeping norms in F32', async () => {
    const f32 = path.join(work, 'q8-source-f32.gguf');
    const ours = path.join(work, 'ours-q8_0.gguf');
    await convert({ input: tiny, output: f32, outtype: 'f32' });
    await convert({ input: tiny, output: ours, outtype: 'q8_0' });
    const reference = path.join(work, 'llama-quantize-q8_0.gguf');
    const tools = await nativeTools();
    await run(tools.paths['llama-quantize'], [f32, reference, 'Q8_0', '2']);
    const a = await readGgufFile(ours);
    const b = await readGgufFile(reference);
    let compared = 0;
    for (const info of a.gguf.tensors) {
      const other = b.gguf.tensors.find((t) => t.name === info.name)!;
      if (info.name.endsWith('_norm.weight')) expect(info.type).toBe(GgmlType.F32);
      if (info.type !== GgmlType.Q8_0 || other.type !== GgmlType.Q8_0) continue;
      expect(
        Buffer.compare(Buffer.from(await a.tensor(info.name)), Buffer.from(await b.tensor(info.name))),
      ).toBe(0);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(14);
    expect(getMetadata(a.gguf, 'general.file_type')).toBe(7);
  }, 120_000);

  it('reads a sharded BF16 checkpoint from the Hugging Face cache layout and records its repository and revision', async () => {
    const sharded = await generateCheckpoint({ family: 'qwen3', shards: 3, dtype: 'bf16' });
    const entry = path.join(work, 'hub', 'models--acme--tiny-qwen3');
    const revision = '0123456789abcdef0123456789abcdef01234567';
    fs.mkdirSync(path.join(entry, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(entry, 'snapshots'), { recursive: true });
    fs.writeFileSync(path.join(entry, 'refs', 'main'), revision);
    fs.symlinkSync(sharded, path.join(entry, 'snapshots', revision));
    const output = path.join(work, 'qwen3-bf16.gguf');
    const result = await convert({ input: entry, output, outtype: 'bf16' });
    expect(result.tokenizer).toMatchObject({ model: 'gpt2', pre: 'qwen2' });
    const { gguf } = await readGgufFile(output);
    expect(getMetadata(gguf, 'general.source.huggingface.repository')).toBe('acme/tiny-qwen3');
    expect(getMetadata(gguf, 'general.source.revision')).toBe(revision);
    expect(getMetadata(gguf, 'general.basename')).toBe('tiny-qwen3');
    expect(gguf.tensors.find((t) => t.name === 'blk.1.attn_k_norm.weight')?.type).toBe(GgmlType.F32);
    expect(gguf.tensors.find((t) => t.name === 'blk.1.ffn_down.weight')?.type).toBe(GgmlType.BF16);
    // Tied embeddings: no output tensor, llama.cpp reuses token_embd.
    expect(gguf.tensors.some((t) => t.name === 'output.weight')).toBe(false);
  }, 300_000);

  it('writes llama3 RoPE scaling as rope_freqs, and the model card license', async () => {
    const llama3 = await generateCheckpoint({ family: 'llama' });
    const dir = copyCheckpoint(llama3, 'llama3-card', (d) =>
      fs.writeFileSync(path.join(d, 'README.md'), '---\nlicense: llama3.2\n---\n# Tiny\n'),
    );
    const output = path.join(work, 'llama3.gguf');
    await convert({ input: dir, output, outtype: 'f16', name: 'Tiny Llama 3' });
    const { gguf, tensor } = await readGgufFile(output);
    expect(getMetadata(gguf, 'general.license')).toBe('llama3.2');
    expect(getMetadata(gguf, 'general.name')).toBe('Tiny Llama 3');
    const data = await tensor('rope_freqs.weight');
    const freqs = Array.from(
      new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    );
    // head_dim 16, theta 500000, factor 32 over an 8192 context: high frequencies unscaled, low ones divided by 32.
    expect(freqs.length).toBe(8);
    expect(freqs[0]).toBe(1);
    expect(freqs[7]).toBe(32);
  }, 300_000);

  it('refuses a folder with only pickle weights and explains why', async () => {
    const dir = copyCheckpoint(tiny, 'pickle-only', (d) => {
      fs.rmSync(path.join(d, 'model.safetensors'));
      fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'pickle');
    });
    await expect(convert({ input: dir, output: path.join(work, 'pickle.gguf') })).rejects.toMatchObject({
      code: 'PICKLE_ONLY',
      message: expect.stringContaining('arbitrary code'),
      hint: expect.stringContaining('safetensors'),
    });
  });

  it('names the closest supported architecture when config.json names another', async () => {
    const dir = copyCheckpoint(tiny, 'unknown-arch', (d) => {
      const config = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as object;
      fs.writeFileSync(
        path.join(d, 'config.json'),
        JSON.stringify({ ...config, architectures: ['FalconForCausalLM'] }),
      );
    });
    const error = await convert({ input: dir, output: path.join(work, 'falcon.gguf') }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'UNSUPPORTED_ARCHITECTURE', category: 'input' });
    expect((error as Error).message).toMatch(
      /^Architecture "FalconForCausalLM" is not supported\. Closest supported: LlamaForCausalLM \(llama\), which maps (\d+) of \1 tensors; it knows every tensor/,
    );
    expect((error as { hint: string }).hint).toContain('Supported: Gemma2ForCausalLM, Gemma3ForCausalLM');
  });

  it('says which tensors the closest architecture does not know', async () => {
    const moe = await generateCheckpoint({ family: 'qwen3moe' });
    // Without the MoE module, dense Qwen3 maps the attention (8 tensors a layer, 2 layers) and
    // the embedding, final norm and head; it lacks the router and 4 experts × 3 projections a layer.
    const architectures = new ArchitectureRegistry().register(qwen3Architecture);
    const error = await convert({ input: moe, output: path.join(work, 'moe.gguf'), architectures }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'UNSUPPORTED_ARCHITECTURE' });
    expect((error as Error).message).toContain(
      'Closest supported: Qwen3ForCausalLM (qwen3), which maps 19 of 45 tensors; it does not know model.layers.N.mlp.experts.N.gate_proj.weight (8), model.layers.N.mlp.experts.N.up_proj.weight (8), model.layers.N.mlp.experts.N.down_proj.weight (8), model.layers.N.mlp.gate.weight (2).',
    );
  });

  it('converts an architecture a user registers', async () => {
    const dir = copyCheckpoint(tiny, 'custom-arch', (d) => {
      const config = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as object;
      fs.writeFileSync(
        path.join(d, 'config.json'),
        JSON.stringify({ ...config, architectures: ['MyLlamaForCausalLM'] }),
      );
    });
    const architectures = defaultArchitectures().register({
      ...llamaArchitecture,
      hfArchitectures: ['MyLlamaForCausalLM'],
    });
    const result = await convert({ input: dir, output: path.join(work, 'custom.gguf'), architectures });
    expect(result.ggufArchitecture).toBe('llama');
  });

  it('fails on a tensor the architecture does not know instead of dropping it', async () => {
    const dir = copyCheckpoint(tiny, 'extra-tensor');
    const index = { weight_map: { 'model.extra.weight': 'extra.safetensors' } as Record<string, string> };
    const header = await readSafetensorsHeader(path.join(dir, 'model.safetensors'));
    for (const t of header.tensors) index.weight_map[t.name] = 'model.safetensors';
    const { writeSafetensors } = await import('./safetensors/writer.js');
    await writeSafetensors(path.join(dir, 'extra.safetensors'), [
      { name: 'model.extra.weight', dtype: 'F32', shape: [2], data: new Uint8Array(8) },
    ]);
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await expect(convert({ input: dir, output: path.join(work, 'extra.gguf') })).rejects.toMatchObject({
      code: 'TENSOR_MISMATCH',
      message: expect.stringContaining('model.extra.weight'),
    });
  });

  it('takes the chat template from chat_template.jinja, then chat_template.json, when tokenizer_config.json has none', async () => {
    const strip = (d: string) => {
      const config = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer_config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      delete config.chat_template;
      fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify(config));
    };
    const jinja = copyCheckpoint(tiny, 'template-jinja', (d) => {
      strip(d);
      fs.writeFileSync(path.join(d, 'chat_template.jinja'), '{{ messages[0].content }}');
    });
    const json = copyCheckpoint(tiny, 'template-json', (d) => {
      strip(d);
      fs.writeFileSync(
        path.join(d, 'chat_template.json'),
        JSON.stringify({ chat_template: '{{ bos_token }}' }),
      );
    });
    const none = copyCheckpoint(tiny, 'template-none', strip);
    for (const [dir, expected] of [
      [jinja, '{{ messages[0].content }}'],
      [json, '{{ bos_token }}'],
      [none, undefined],
    ] as const) {
      const output = path.join(work, `${path.basename(dir)}.gguf`);
      const result = await convert({ input: dir, output });
      const { gguf } = await readGgufFile(output);
      expect(getMetadata(gguf, 'tokenizer.chat_template')).toBe(expected);
      expect(result.chatTemplate).toBe(expected !== undefined);
    }
  });

  it('never replaces an existing file without force', async () => {
    const output = path.join(work, 'mine.gguf');
    fs.writeFileSync(output, 'mine');
    await expect(convert({ input: tiny, output })).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
      category: 'usage',
    });
    expect(fs.readFileSync(output, 'utf8')).toBe('mine');
    await convert({ input: tiny, output, force: true });
    expect(fs.statSync(output).size).toBeGreaterThan(1_000_000);
  });

  it('leaves a file that another process wrote while it converted, unless forced', async () => {
    const output = path.join(work, 'appeared.gguf');
    const appear = (p: { bytesDone: number; bytesTotal: number }) => {
      if (p.bytesDone > p.bytesTotal / 2 && !fs.existsSync(output)) fs.writeFileSync(output, 'theirs');
    };
    await expect(
      convert({ input: tiny, output, chunkBytes: 64 * 1024, onProgress: appear }),
    ).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', hint: expect.stringContaining('--force') });
    expect(fs.readFileSync(output, 'utf8')).toBe('theirs');
    expect(fs.readdirSync(work).filter((name) => name.includes('appeared.gguf'))).toEqual(['appeared.gguf']);
  });

  it('leaves nothing behind when interrupted or when a shard is truncated', async () => {
    const out = path.join(work, 'partial');
    fs.mkdirSync(out);
    const controller = new AbortController();
    const aborted = convert({
      input: tiny,
      output: path.join(out, 'aborted.gguf'),
      signal: controller.signal,
      chunkBytes: 64 * 1024,
      onProgress: (p) => {
        if (p.tensorIndex === 3) controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const truncated = copyCheckpoint(tiny, 'truncated', (d) => {
      const file = path.join(d, 'model.safetensors');
      fs.truncateSync(file, fs.statSync(file).size - 100);
    });
    await expect(
      convert({ input: truncated, output: path.join(out, 'truncated.gguf') }),
    ).rejects.toMatchObject({ code: 'BAD_SAFETENSORS' });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('reports progress that ends at the total', async () => {
    const seen: number[] = [];
    let total = 0;
    await convert({
      input: tiny,
      output: path.join(work, 'progress.gguf'),
      chunkBytes: 1024 * 1024,
      onProgress: (p) => {
        seen.push(p.bytesDone);
        total = p.bytesTotal;
      },
    });
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
    expect(seen[seen.length - 1]).toBe(total);
    expect(total).toBe(
      fs.statSync(path.join(tiny, 'model.safetensors')).size -
        (await readSafetensorsHeader(path.join(tiny, 'model.safetensors'))).dataOffset,
    );
  });
});
