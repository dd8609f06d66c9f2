import { createHash } from 'node:crypto';
import { ConverterError } from '../errors.js';
import { PRE_TOKENIZER_CHECK_TEXT, PRE_TOKENIZER_HASHES } from './pre-tokenizer-table.js';

/** Encodes text to token ids the way the Hugging Face tokenizer does (special tokens added). */
export type TokenEncoder = (text: string) => number[] | Promise<number[]>;

/**
 * The llama.cpp name of a BPE tokenizer's pre-tokenizer, found as
 * convert_hf_to_gguf's get_vocab_base_pre finds it: the sha256 of Python's
 * `str()` of the check text's token ids ("[1, 2, 3]"), looked up in the table.
 */
export async function detectPreTokenizer(encode: TokenEncoder): Promise<{ name: string; hash: string }> {
  const ids = await encode(PRE_TOKENIZER_CHECK_TEXT);
  const hash = createHash('sha256')
    .update(`[${ids.join(', ')}]`)
    .digest('hex');
  const name = PRE_TOKENIZER_HASHES.get(hash);
  if (!name) {
    throw new ConverterError(
      'UNKNOWN_PRE_TOKENIZER',
      `The BPE pre-tokenizer is not one llama.cpp knows (check-text hash ${hash}). A GGUF with a guessed pre-tokenizer would tokenize differently from the original model.`,
      {
        details: { hash },
        hint: "Check that tokenizer.json is the model's own; if it is new, llama.cpp must add it to convert_hf_to_gguf_update.py before it can run correctly.",
      },
    );
  }
  return { name, hash };
}
