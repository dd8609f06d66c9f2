import { ConverterError } from '../errors.js';

/** An added token from tokenizer.json. */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}

/** The token-to-id view of tokenizer.json: the model vocab and the added tokens. */
export interface JsonVocab {
  model: Record<string, unknown>;
  vocab: Map<string, number>;
  added: AddedToken[];
}

/** Reads tokenizer.json's model vocabulary and added tokens, checking their shape. */
export function readJsonVocab(tokenizerJson: Record<string, unknown>): JsonVocab {
  const model = tokenizerJson.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object')
    throw new ConverterError('BAD_TOKENIZER', 'tokenizer.json has no model.');
  const vocab = new Map<string, number>();
  if (model.type === 'Unigram') {
    const pieces = model.vocab as unknown[];
    if (!Array.isArray(pieces))
      throw new ConverterError('BAD_TOKENIZER', 'tokenizer.json Unigram vocab is not a list.');
    pieces.forEach((piece, id) => vocab.set((piece as [string, number])[0], id));
  } else {
    const raw = model.vocab as Record<string, unknown> | undefined;
    if (!raw || typeof raw !== 'object')
      throw new ConverterError('BAD_TOKENIZER', 'tokenizer.json has no model.vocab.');
    for (const [token, id] of Object.entries(raw)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0)
        throw new ConverterError(
          'BAD_TOKENIZER',
          `tokenizer.json gives token ${JSON.stringify(token)} the id ${String(id)}.`,
        );
      vocab.set(token, id as number);
    }
  }
  const added = ((tokenizerJson.added_tokens as unknown[]) ?? []).map((t) => {
    const token = t as Record<string, unknown>;
    if (typeof token.content !== 'string' || !Number.isSafeInteger(token.id))
      throw new ConverterError('BAD_TOKENIZER', 'tokenizer.json has a malformed added token.');
    return {
      id: token.id as number,
      content: token.content,
      special: token.special === true,
      normalized: token.normalized === true,
    };
  });
  return { model, vocab, added };
}

/** The id of a token text, added tokens first. */
export function tokenId(vocab: JsonVocab, content: string): number | undefined {
  return vocab.added.find((t) => t.content === content)?.id ?? vocab.vocab.get(content);
}
