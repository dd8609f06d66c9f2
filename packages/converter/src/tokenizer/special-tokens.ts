import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import type { JsonVocab } from './vocab.js';
import { tokenId } from './vocab.js';

// The special-token kinds gguf-py's SpecialVocab writes, with their GGUF key
// names (the misspelt `seperator` is the real key in llama.cpp).
const KINDS = [
  ['bos', 'bos_token_id'],
  ['eos', 'eos_token_id'],
  ['unk', 'unknown_token_id'],
  ['sep', 'seperator_token_id'],
  ['pad', 'padding_token_id'],
  ['cls', 'cls_token_id'],
  ['mask', 'mask_token_id'],
] as const;

// End-of-turn tokens of the chat formats llama.cpp knows (llama-vocab.cpp
// checks the same texts when it loads a model without an eot id).
const EOT_TOKENS = ['<|eot_id|>', '<|im_end|>', '<end_of_turn>', '<|end|>', '<|eot|>', '<|endoftext|>'];

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

export interface SpecialTokenSources {
  vocab: JsonVocab;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  config: Record<string, unknown>;
  tokenizerJson?: Record<string, unknown>;
  vocabSize: number;
}

/** The ids of bos, eos, unk, sep, pad, cls, mask and eot, where the checkpoint defines them. */
export function specialTokenIds(sources: SpecialTokenSources): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const [kind] of KINDS) {
    const text =
      tokenText(sources.tokenizerConfig[`${kind}_token`]) ??
      tokenText(sources.specialTokensMap[`${kind}_token`]);
    let id = text === undefined ? undefined : tokenId(sources.vocab, text);
    if (id === undefined) {
      const fromConfig = sources.config[`${kind}_token_id`];
      id =
        typeof fromConfig === 'number'
          ? fromConfig
          : Array.isArray(fromConfig) && typeof fromConfig[0] === 'number'
            ? fromConfig[0]
            : undefined;
    }
    if (id !== undefined && id >= 0 && id < sources.vocabSize) ids[kind] = id;
  }
  for (const text of EOT_TOKENS) {
    const id = tokenId(sources.vocab, text);
    if (id !== undefined && id !== ids.bos) {
      ids.eot = id;
      break;
    }
  }
  return ids;
}

/**
 * add_bos / add_eos: tokenizer_config.json's flags when set, otherwise what
 * tokenizer.json's TemplateProcessing post-processor adds around a sequence.
 */
export function addSpecialFlags(
  sources: SpecialTokenSources,
  ids: Record<string, number>,
): { addBos: boolean; addEos: boolean } {
  const template = findTemplateProcessing(sources.tokenizerJson?.post_processor);
  const single = (template?.single as Array<Record<string, { id?: string }>> | undefined) ?? [];
  const specials = single
    .map((step) => step.SpecialToken?.id)
    .filter((x): x is string => typeof x === 'string');
  const firstIsSpecial = single.length > 0 && single[0].SpecialToken !== undefined;
  const lastIsSpecial = single.length > 1 && single[single.length - 1].SpecialToken !== undefined;
  const bosText = specials.length && firstIsSpecial ? specials[0] : undefined;
  const fromTemplate = {
    addBos: bosText !== undefined && (ids.bos === undefined || tokenId(sources.vocab, bosText) === ids.bos),
    addEos: lastIsSpecial,
  };
  const flag = (key: string, fallback: boolean) =>
    typeof sources.tokenizerConfig[key] === 'boolean' ? sources.tokenizerConfig[key] : fallback;
  return {
    addBos: flag('add_bos_token', fromTemplate.addBos),
    addEos: flag('add_eos_token', fromTemplate.addEos),
  };
}

function findTemplateProcessing(processor: unknown): Record<string, unknown> | undefined {
  if (!processor || typeof processor !== 'object') return undefined;
  const p = processor as Record<string, unknown>;
  if (p.type === 'TemplateProcessing') return p;
  if (p.type === 'Sequence' && Array.isArray(p.processors)) {
    for (const inner of p.processors) {
      const found = findTemplateProcessing(inner);
      if (found) return found;
    }
  }
  return undefined;
}

/** The GGUF entries for special tokens and add_bos / add_eos. */
export function specialTokenMetadata(sources: SpecialTokenSources): GgufMetadataEntry[] {
  const ids = specialTokenIds(sources);
  const entries: GgufMetadataEntry[] = [];
  for (const [kind, key] of KINDS)
    if (ids[kind] !== undefined) entries.push(ggufEntry.uint32(`tokenizer.ggml.${key}`, ids[kind]));
  if (ids.eot !== undefined) entries.push(ggufEntry.uint32('tokenizer.ggml.eot_token_id', ids.eot));
  const { addBos, addEos } = addSpecialFlags(sources, ids);
  entries.push(
    ggufEntry.bool('tokenizer.ggml.add_bos_token', addBos),
    ggufEntry.bool('tokenizer.ggml.add_eos_token', addEos),
  );
  return entries;
}
