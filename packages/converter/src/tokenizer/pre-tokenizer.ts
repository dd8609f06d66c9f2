import { createHash } from 'node:crypto';
import { ConverterError } from '../errors.js';
import { PRE_TOKENIZER_CHECK_TEXT, PRE_TOKENIZER_HASHES } from './pre-tokenizer-table.js';

/** Encodes text to token ids the way the Hugging Face tokenizer does (special tokens added). */
export type TokenEncoder = (text: string) => number[] | Promise<number[]>;

// Llama 3's split regex as tokenizer.json writes it (Sequence: Split,
// Isolated, then ByteLevel without its own regex).
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// The pre-types llama.cpp runs with exactly that regex (llama-vocab.cpp:
// LLAMA_VOCAB_PRE_TYPE_LLAMA3, _DBRX and _SMAUG share it), and whether each
// takes a word that is in the vocabulary whole (`ignore_merges`, set in
// llama_vocab::impl::load for "llama-bpe" only). Their check-text hashes
// differ only by a BOS token, which says nothing about merges: a Llama 3
// tokenizer.json without a BOS post-processor hashes to smaug-bpe and would
// then tokenize " việc" as three tokens where Hugging Face gives one.
const LLAMA3_REGEX_PRE_TYPES: ReadonlyMap<string, boolean> = new Map([
  ['llama-bpe', true],
  ['smaug-bpe', false],
  ['dbrx', false],
]);

function usesLlama3Split(tokenizerJson: Record<string, unknown>): boolean {
  const pre = tokenizerJson.pre_tokenizer as {
    type?: string;
    pretokenizers?: Array<Record<string, unknown>>;
  } | null;
  if (pre?.type !== 'Sequence' || pre.pretokenizers?.length !== 2) return false;
  const [split, byteLevel] = pre.pretokenizers;
  return (
    split.type === 'Split' &&
    (split.pattern as { Regex?: string } | undefined)?.Regex === LLAMA3_SPLIT &&
    split.behavior === 'Isolated' &&
    split.invert === false &&
    byteLevel.type === 'ByteLevel' &&
    byteLevel.use_regex === false &&
    byteLevel.add_prefix_space === false
  );
}

/**
 * The pre-type whose runtime behaviour matches tokenizer.json when the hash
 * names one of the Llama 3 regex family: the split must be Llama 3's, and
 * then `model.ignore_merges` decides between llama-bpe and smaug-bpe. Any
 * other hash, or another split, keeps the table's name.
 */
export function matchPreTypeBehaviour(name: string, tokenizerJson: Record<string, unknown>): string {
  const ignoresMerges = LLAMA3_REGEX_PRE_TYPES.get(name);
  if (ignoresMerges === undefined || !usesLlama3Split(tokenizerJson)) return name;
  const wanted = (tokenizerJson.model as { ignore_merges?: unknown } | undefined)?.ignore_merges === true;
  if (wanted === ignoresMerges) return name;
  return wanted ? 'llama-bpe' : 'smaug-bpe';
}

/**
 * The llama.cpp name of a BPE tokenizer's pre-tokenizer, found as
 * convert_hf_to_gguf's get_vocab_base_pre finds it: the sha256 of Python's
 * `str()` of the check text's token ids ("[1, 2, 3]"), looked up in the table.
 * With the tokenizer.json, a name of the Llama 3 regex family is then checked
 * against what the file says (see matchPreTypeBehaviour).
 */
export async function detectPreTokenizer(
  encode: TokenEncoder,
  tokenizerJson?: Record<string, unknown>,
): Promise<{ name: string; hash: string }> {
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
  return { name: tokenizerJson ? matchPreTypeBehaviour(name, tokenizerJson) : name, hash };
}
