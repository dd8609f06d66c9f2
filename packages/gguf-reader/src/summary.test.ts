import { describe, expect, it } from '@jest/globals';
import {
  bufferSource,
  ggufArray,
  ggufEntry,
  GgmlType,
  GgufValueType,
  layoutTensors,
  llamaFileTypeFromName,
  llamaFileTypeName,
  readGguf,
  serializeGgufHeader,
  summarizeGguf,
  type GgufMetadataEntry,
  type GgufTensorSpec,
} from './index.js';

async function parse(metadata: GgufMetadataEntry[], specs: GgufTensorSpec[]) {
  const tensors = layoutTensors(specs);
  const header = serializeGgufHeader({ metadata, tensors });
  const last = tensors[tensors.length - 1];
  const bytes = new Uint8Array(header.length + last.offset + last.byteSize);
  bytes.set(header);
  return readGguf(bufferSource(bytes));
}

const llamaMetadata = [
  ggufEntry.string('general.architecture', 'llama'),
  ggufEntry.string('general.name', 'Tiny'),
  ggufEntry.uint32('general.file_type', 15),
  ggufEntry.string('general.license', 'apache-2.0'),
  ggufEntry.string('general.author', 'Alki'),
  ggufEntry.uint64('general.size_label_params', 100n),
  ggufEntry.array('general.tags', GgufValueType.STRING, ['a']),
  ggufEntry.uint32('llama.context_length', 256),
  ggufEntry.uint32('llama.embedding_length', 64),
  ggufEntry.uint32('llama.block_count', 2),
  ggufEntry.uint32('llama.feed_forward_length', 128),
  ggufEntry.uint32('llama.attention.head_count', 4),
  ggufEntry.uint32('llama.attention.head_count_kv', 2),
  ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
  ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'b', 'c']),
  ggufEntry.string('tokenizer.chat_template', '{{ messages }}'),
];
const llamaTensors: GgufTensorSpec[] = [
  { name: 'token_embd.weight', type: GgmlType.Q4_K, dims: [256, 3] },
  { name: 'blk.0.attn_q.weight', type: GgmlType.Q6_K, dims: [256, 4] },
  { name: 'blk.0.attn_k.weight', type: GgmlType.Q4_K, dims: [256, 2] },
  { name: 'output_norm.weight', type: GgmlType.F32, dims: [64] },
];

describe('summarizeGguf', () => {
  it('reports shape, tokenizer, license, file type and the tensor-type mix', async () => {
    const summary = summarizeGguf(await parse(llamaMetadata, llamaTensors));
    expect(summary).toMatchObject({
      architecture: 'llama',
      name: 'Tiny',
      parameterCount: 256 * 3 + 256 * 4 + 256 * 2 + 64,
      fileType: { id: 15, name: 'MOSTLY_Q4_K_M' },
      tensorCount: 4,
      contextLength: 256,
      embeddingLength: 64,
      blockCount: 2,
      feedForwardLength: 128,
      headCount: 4,
      headCountKv: 2,
      vocabSize: 3,
      tokenizerModel: 'gpt2',
      hasChatTemplate: true,
      license: 'apache-2.0',
      general: { author: 'Alki', size_label_params: 100 },
      version: 3,
      shards: 1,
    });
    // Q4_K: 144 bytes per 256; Q6_K: 210 bytes per 256.
    expect(summary.tensorTypes).toEqual([
      { type: 'Q6_K', tensors: 1, parameters: 1024, bytes: 4 * 210 },
      { type: 'Q4_K', tensors: 2, parameters: 1280, bytes: 5 * 144 },
      { type: 'F32', tensors: 1, parameters: 64, bytes: 256 },
    ]);
  });

  it('estimates memory as weights plus an F16 KV cache at the context size', async () => {
    const file = await parse(llamaMetadata, llamaTensors);
    const weights = 4 * 210 + 5 * 144 + 256;
    // 2 layers x (16 + 16) head dims x 2 KV heads x positions x 2 bytes.
    expect(summarizeGguf(file).memory).toEqual({
      contextSize: 256,
      weightsBytes: weights,
      kvCacheBytes: 2 * 32 * 2 * 256 * 2,
      totalBytes: weights + 65536,
    });
    expect(summarizeGguf(file, { contextSize: 1024 }).memory.kvCacheBytes).toBe(2 * 32 * 2 * 1024 * 2);
  });

  it('honours explicit key/value lengths and per-layer head counts', async () => {
    const metadata = [
      ggufEntry.string('general.architecture', 'x'),
      ggufEntry.uint32('x.block_count', 3),
      ggufEntry.uint32('x.embedding_length', 64),
      ggufEntry.array('x.attention.head_count', GgufValueType.INT32, [4, 8, 8]),
      ggufEntry.array('x.attention.head_count_kv', GgufValueType.INT32, [1, 2, 0]),
      ggufEntry.uint32('x.attention.key_length', 32),
      ggufEntry.uint32('x.attention.value_length', 16),
    ];
    const summary = summarizeGguf(await parse(metadata, [{ name: 'w', type: GgmlType.F16, dims: [8] }]), {
      contextSize: 10,
    });
    expect(summary.headCount).toBe(8);
    expect(summary.headCountKv).toBe(2);
    expect(summary.memory.kvCacheBytes).toBe((32 + 16) * (1 + 2 + 0) * 10 * 2);
  });

  it('never lets a header count set a loop bound: block_count at its type limits costs nothing', async () => {
    const tensors = [{ name: 'w', type: GgmlType.F16, dims: [8] }];
    const withBlocks = (blocks: GgufMetadataEntry) => [
      ggufEntry.string('general.architecture', 'x'),
      blocks,
      ggufEntry.uint32('x.context_length', 0xffffffff),
      ggufEntry.uint32('x.embedding_length', 0xffffffff),
      ggufEntry.uint32('x.attention.head_count', 0xffffffff),
      ggufEntry.array('x.attention.head_count_kv', GgufValueType.UINT32, [1, 2]),
    ];
    const started = Date.now();
    // 2^53 - 1 layers: the two listed in head_count_kv, then one product for the rest.
    const safe = summarizeGguf(
      await parse(withBlocks(ggufEntry.uint64('x.block_count', 2n ** 53n - 1n)), tensors),
    );
    expect(safe.blockCount).toBe(2 ** 53 - 1);
    const perHead = 2 * (0xffffffff / 0xffffffff);
    const layers = 1 * perHead + 2 * perHead + (2 ** 53 - 3) * 0xffffffff * perHead;
    expect(safe.memory.kvCacheBytes).toBe(layers * 0xffffffff * 2);
    // Values a JS number cannot hold exactly, or that are not counts, are left out, never guessed.
    for (const blocks of [
      ggufEntry.uint64('x.block_count', 2n ** 64n - 1n),
      ggufEntry.int64('x.block_count', -(2n ** 63n)),
      ggufEntry.int32('x.block_count', -1),
      ggufEntry.float64('x.block_count', 1e308),
      ggufEntry.float32('x.block_count', NaN),
    ]) {
      const summary = summarizeGguf(await parse(withBlocks(blocks), tensors));
      expect(summary.blockCount).toBeUndefined();
      expect(summary.memory.kvCacheBytes).toBe(0);
    }
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('summarises a per-layer array of a million heads without spreading it onto the stack', async () => {
    const heads = Array.from({ length: 1_000_000 }, (_, i) => (i === 777 ? 200 : 1));
    const metadata = [
      ggufEntry.string('general.architecture', 'x'),
      ggufEntry.uint32('x.block_count', 4),
      ggufEntry.uint32('x.embedding_length', 800),
      ggufEntry.array('x.attention.head_count', GgufValueType.UINT8, heads),
    ];
    const summary = summarizeGguf(await parse(metadata, [{ name: 'w', type: GgmlType.F16, dims: [8] }]), {
      contextSize: 1,
    });
    expect(summary.headCount).toBe(200);
    // Only the 4 layers block_count names: 4 x (800 + 800) x 1 KV head x 1 position x 2 bytes.
    expect(summary.memory.kvCacheBytes).toBe(4 * 1600 * 2);
  });

  it('copes with a file that has almost no metadata', async () => {
    const summary = summarizeGguf(
      await parse(
        [ggufEntry.array('odd', GgufValueType.ARRAY, [ggufArray(GgufValueType.INT8, [1])])],
        [{ name: 'w', type: GgmlType.F32, dims: [2] }],
      ),
    );
    expect(summary.architecture).toBeUndefined();
    expect(summary.hasChatTemplate).toBe(false);
    expect(summary.memory).toEqual({ contextSize: 0, weightsBytes: 8, kvCacheBytes: 0, totalBytes: 8 });
  });
});

describe('llama file types', () => {
  it('maps general.file_type ids and names both ways', () => {
    expect(llamaFileTypeName(0)).toBe('ALL_F32');
    expect(llamaFileTypeName(18)).toBe('MOSTLY_Q6_K');
    expect(llamaFileTypeName(4)).toBeUndefined();
    expect(llamaFileTypeFromName('q4_k_m')).toBe(15);
    expect(llamaFileTypeFromName('F32')).toBe(0);
    expect(llamaFileTypeFromName('MOSTLY_Q8_0')).toBe(7);
    expect(llamaFileTypeFromName('Q9')).toBeUndefined();
  });
});
