import { ConverterError } from '../errors.js';
import { bpeMerges, type VocabTables } from './bpe.js';
import { looksSpecial, TokenType } from './token-types.js';
import type { JsonVocab } from './vocab.js';

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * True when tokenizer.json is a SentencePiece model converted to the
 * tokenizers format: a Unigram model, or BPE with byte fallback (Llama 2,
 * Mistral, Gemma). llama.cpp runs those with its SPM tokenizer.
 */
export function isSentencePieceJson(tokenizerJson: Record<string, unknown>): boolean {
  const model = tokenizerJson.model as Record<string, unknown> | undefined;
  return model?.type === 'Unigram' || (model?.type === 'BPE' && model.byte_fallback === true);
}

/**
 * SentencePiece tables (tokenizer.ggml.model = llama) from tokenizer.json.
 * llama.cpp's SPM tokenizer repeatedly merges the adjacent pair whose joined
 * text has the highest score (llm_tokenizer_spm in llama-vocab.cpp); the HF BPE
 * form ranks merges instead, so a token's score is minus the rank of the first
 * merge that produces it, which orders merges identically. Unigram models
 * carry their scores directly.
 */
export function sentencePieceJsonVocab(
  vocab: JsonVocab,
  vocabSize: number,
  unkToken: string | undefined,
): VocabTables {
  const model = vocab.model;
  const tokens: string[] = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const scores: number[] = new Array<number>(vocabSize).fill(-1000);
  const types: number[] = new Array<number>(vocabSize).fill(TokenType.UNUSED);
  const unigramScores =
    model.type === 'Unigram' ? (model.vocab as Array<[string, number]>).map((p) => p[1]) : undefined;
  const mergeScore = new Map<string, number>();
  if (!unigramScores) {
    bpeMerges(model).forEach((merge, rank) => {
      const space = merge.indexOf(' ');
      const joined = merge.slice(0, space) + merge.slice(space + 1);
      if (!mergeScore.has(joined)) mergeScore.set(joined, -rank);
    });
  }
  const unk = unkToken ?? (typeof model.unk_token === 'string' ? model.unk_token : undefined);
  for (const [token, id] of vocab.vocab) {
    if (id >= vocabSize) {
      throw new ConverterError(
        'BAD_TOKENIZER',
        `The tokenizer has token id ${id}, but config.json's vocab_size is ${vocabSize}.`,
        { details: { id, vocabSize } },
      );
    }
    tokens[id] = token;
    // Tokens no merge produces (single characters, bytes) never win a merge;
    // they rank below every merged token, in id order.
    scores[id] = unigramScores ? unigramScores[id] : (mergeScore.get(token) ?? -(mergeScore.size + id));
    types[id] =
      token === unk ? TokenType.UNKNOWN : BYTE_TOKEN.test(token) ? TokenType.BYTE : TokenType.NORMAL;
  }
  for (const added of vocab.added) {
    if (added.id >= vocabSize) continue;
    if (added.content === unk) {
      tokens[added.id] = added.content;
      types[added.id] = TokenType.UNKNOWN;
      continue;
    }
    const special = added.special || looksSpecial(added.content);
    // As _create_vocab_sentencepiece: added tokens score -1000; user-defined
    // ones are stored pre-normalized (SentencePiece space mark as a space).
    tokens[added.id] = special ? added.content : added.content.replaceAll('\u2581', ' ');
    types[added.id] = special ? TokenType.CONTROL : TokenType.USER_DEFINED;
    scores[added.id] = -1000;
  }
  return { tokens, types, scores };
}

/** Whether the SentencePiece normalizer prepends "▁" (llama.cpp's add_space_prefix). */
export function sentencePieceAddsSpacePrefix(tokenizerJson: Record<string, unknown>): boolean {
  const text = JSON.stringify([tokenizerJson.normalizer ?? null, tokenizerJson.pre_tokenizer ?? null]);
  return (
    /"type":"Prepend","prepend":"\u2581"/.test(text) ||
    /"prepend_scheme":"(always|first)"/.test(text) ||
    /"add_prefix_space":true/.test(text)
  );
}
