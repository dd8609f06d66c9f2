import { createGgufWriter, GgmlType, GgufValueType, ggufEntry } from '@alki/gguf-reader';

export interface TestGgufOptions {
  name?: string;
  license?: string;
  /** llama_ftype value; 0 (ALL_F32) by default. */
  fileType?: number;
  chatTemplate?: string;
  /** Extra bytes of tensor data, to make copies long enough to interrupt. */
  paddingFloats?: number;
  seed?: number;
}

/**
 * A small GGUF with the llama header keys the bundler reads (architecture,
 * context, shape) and F32 tensors. Enough for the bundler's own tests; the
 * end-to-end tests use models llama.cpp can load.
 */
export async function writeTestGguf(destination: string, options: TestGgufOptions = {}): Promise<void> {
  const embedding = 8;
  const padding = options.paddingFloats ?? 0;
  const metadata = [
    ggufEntry.string('general.architecture', 'llama'),
    ...(options.name ? [ggufEntry.string('general.name', options.name)] : []),
    ...(options.license ? [ggufEntry.string('general.license', options.license)] : []),
    ggufEntry.uint32('general.file_type', options.fileType ?? 0),
    ggufEntry.uint32('llama.context_length', 256),
    ggufEntry.uint32('llama.embedding_length', embedding),
    ggufEntry.uint32('llama.block_count', 2),
    ggufEntry.uint32('llama.feed_forward_length', 16),
    ggufEntry.uint32('llama.attention.head_count', 2),
    ggufEntry.uint32('llama.attention.head_count_kv', 1),
    ggufEntry.float32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
    ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'b', 'c']),
    ...(options.chatTemplate ? [ggufEntry.string('tokenizer.chat_template', options.chatTemplate)] : []),
  ];
  const tensors = [
    { name: 'token_embd.weight', type: GgmlType.F32, dims: [embedding, 3] },
    { name: 'output_norm.weight', type: GgmlType.F32, dims: [embedding] },
    ...(padding ? [{ name: 'padding.weight', type: GgmlType.F32, dims: [padding] }] : []),
  ];
  const writer = await createGgufWriter(destination, { metadata, tensors });
  try {
    const floats = embedding * 3 + embedding + padding;
    const data = new Float32Array(floats);
    let state = options.seed ?? 1;
    for (let i = 0; i < floats; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      data[i] = (state / 2 ** 32) * 2 - 1;
    }
    await writer.writeTensorData(new Uint8Array(data.buffer));
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
