/** llama.cpp's llama_token_type values (tokenizer.ggml.token_type). */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/**
 * Added tokens some models fail to mark special, which llama.cpp treats as
 * control tokens anyway (ModelBase.does_token_look_special in convert_hf_to_gguf).
 */
export function looksSpecial(token: string): boolean {
  return (
    token === '<pad>' ||
    token === '<mask>' ||
    token === '<2mass>' ||
    token === '[@BOS@]' ||
    (token.startsWith('<|') && token.endsWith('|>')) ||
    (token.startsWith('<｜') && token.endsWith('｜>')) ||
    (token.startsWith('<unused') && token.endsWith('>'))
  );
}
