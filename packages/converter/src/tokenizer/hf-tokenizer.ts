import { Tokenizer } from '@huggingface/tokenizers';

// @huggingface/tokenizers 0.2 ships declarations whose relative imports have no file extension, which NodeNext
// resolution cannot follow, so its classes type as `any` here. This is the part Alki uses, typed as its
// types/core/Tokenizer.d.ts declares it.
export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[]): string;
}

/** The Hugging Face tokenizer for a parsed tokenizer.json and tokenizer_config.json. */
export const HfTokenizer = Tokenizer as new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;
