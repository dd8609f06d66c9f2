import { describe, expect, it } from '@jest/globals';
import { GgmlType, ggufEntry, GgufValueType, type GgufFile } from '@alki/gguf-reader';
import { checkGgufStructure, missingByteFallbacks } from './structure.js';

const bytePiece = (byte: number) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;

function header(model: string, tokens: string[]): GgufFile {
  return {
    version: 3,
    littleEndian: true,
    alignment: 32,
    dataOffset: 0,
    metadata: [
      ggufEntry.string('general.architecture', 'llama'),
      ggufEntry.string('tokenizer.ggml.model', model),
      ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
      ...[
        'context_length',
        'embedding_length',
        'block_count',
        'feed_forward_length',
        'attention.head_count',
      ].map((key) => ggufEntry.uint32(`llama.${key}`, 8)),
    ],
    tensors: [{ name: 'token_embd.weight', type: GgmlType.F32, dims: [8, 8], offset: 0, byteSize: 256 }],
  };
}

const allBytes = Array.from({ length: 256 }, (_, byte) => bytePiece(byte));
const asciiBytes = allBytes.slice(0, 0x80);

describe('missingByteFallbacks', () => {
  it('finds nothing missing in a SentencePiece vocabulary with all 256 byte pieces', () => {
    expect(missingByteFallbacks(header('llama', ['<unk>', ...allBytes, 'a']))).toEqual([]);
  });

  it('names the bytes a SentencePiece vocabulary cannot encode', () => {
    const missing = missingByteFallbacks(header('llama', ['<unk>', ...asciiBytes]));
    expect(missing).toHaveLength(128);
    expect(missing[0]).toBe(0x80);
    expect(missing.at(-1)).toBe(0xff);
  });

  it('accepts a one-character piece in place of an ASCII byte piece, as llama.cpp does', () => {
    const tokens = allBytes.filter((piece) => piece !== '<0x41>');
    expect(missingByteFallbacks(header('llama', [...tokens, 'A']))).toEqual([]);
    expect(missingByteFallbacks(header('llama', tokens))).toEqual([0x41]);
  });

  it('ignores byte-level BPE vocabularies, whose tokenizer skips what it cannot encode', () => {
    expect(missingByteFallbacks(header('gpt2', ['a', 'b']))).toEqual([]);
  });
});

describe('checkGgufStructure', () => {
  it('fails a SentencePiece model without byte pieces for non-ASCII text, naming the bytes and the abort', () => {
    const result = checkGgufStructure(header('llama', ['<unk>', ...asciiBytes, 'a']));
    expect(result.status).toBe('fail');
    expect(result.message).toBe(
      'The SentencePiece vocabulary has no byte-fallback token for 128 bytes (<0x80> to <0xFF>): llama.cpp aborts the process (std::out_of_range) on any text that needs one, such as a non-ASCII character.',
    );
  });

  it('passes a complete SentencePiece model', () => {
    expect(checkGgufStructure(header('llama', ['<unk>', ...allBytes])).status).toBe('pass');
  });
});
