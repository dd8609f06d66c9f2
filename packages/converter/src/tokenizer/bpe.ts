import { ConverterError } from '../errors.js';
import { looksSpecial, TokenType } from './token-types.js';
import type { JsonVocab } from './vocab.js';

export interface VocabTables {
  tokens: string[];
  types: number[];
  scores?: number[];
  merges?: string[];
}

/**
 * GPT-2 style byte-level BPE (tokenizer.ggml.model = gpt2): every id below
 * vocab_size gets its token text, ids without one become `[PAD<id>]`
 * UNUSED, added tokens are CONTROL when special and USER_DEFINED otherwise
 * (ModelBase.get_vocab_base in convert_hf_to_gguf).
 */
export function gpt2Vocab(vocab: JsonVocab, vocabSize: number): VocabTables {
  const byId = new Map<number, string>();
  for (const [token, id] of vocab.vocab) byId.set(id, token);
  const added = new Map(vocab.added.map((t) => [t.id, t]));
  for (const t of vocab.added) byId.set(t.id, t.content);
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  if (maxId >= vocabSize) {
    throw new ConverterError(
      'BAD_TOKENIZER',
      `The tokenizer has token id ${maxId}, but config.json's vocab_size is ${vocabSize}.`,
      {
        details: { maxId, vocabSize },
        hint: 'The tokenizer does not belong to this model; download matching files.',
      },
    );
  }
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const token = byId.get(id);
    if (token === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
      continue;
    }
    const addedToken = added.get(id);
    if (!addedToken) {
      tokens.push(token);
      types.push(TokenType.NORMAL);
    } else if (addedToken.special || looksSpecial(token)) {
      tokens.push(token);
      types.push(TokenType.CONTROL);
    } else {
      // llama.cpp expects user-defined tokens pre-normalized: a SentencePiece
      // space mark inside one is a plain space (added for Gemma upstream).
      tokens.push(token.replaceAll('\u2581', ' '));
      types.push(TokenType.USER_DEFINED);
    }
  }
  return { tokens, types, merges: bpeMerges(vocab.model) };
}

/** tokenizer.json merges as GGUF wants them ("a b"), from the legacy string or the newer pair format. */
export function bpeMerges(model: Record<string, unknown>): string[] {
  const merges = model.merges;
  if (!Array.isArray(merges))
    throw new ConverterError('BAD_TOKENIZER', 'tokenizer.json has a BPE model without merges.');
  return merges.map((merge) => {
    if (typeof merge === 'string') return merge;
    if (Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === 'string'))
      return `${merge[0]} ${merge[1]}`;
    throw new ConverterError(
      'BAD_TOKENIZER',
      `tokenizer.json has a malformed merge ${JSON.stringify(merge)}.`,
    );
  });
}
