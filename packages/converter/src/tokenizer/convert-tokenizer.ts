import { ggufEntry, GgufValueType, type GgufMetadataEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { gpt2Vocab, type VocabTables } from './bpe.js';
import type { TokenizerFiles } from './files.js';
import { detectPreTokenizer, type TokenEncoder } from './pre-tokenizer.js';
import {
  isSentencePieceJson,
  sentencePieceAddsSpacePrefix,
  sentencePieceJsonVocab,
} from './sentencepiece-json.js';
import { sentencePieceModelVocab } from './sentencepiece-model.js';
import { specialTokenMetadata } from './special-tokens.js';
import { readJsonVocab, type JsonVocab } from './vocab.js';
import { HfTokenizer } from './hf-tokenizer.js';

export interface TokenizerConversionOptions {
  files: TokenizerFiles;
  config: Record<string, unknown>;
  vocabSize: number;
  /** From the architecture: SentencePiece models that must not get a space prefix (Gemma). */
  addSpacePrefix?: boolean;
  /** Replaces the Hugging Face tokenizer used for pre-tokenizer detection (tests). */
  encoder?: TokenEncoder;
}

export interface ConvertedTokenizer {
  model: 'gpt2' | 'llama';
  pre?: string;
  preHash?: string;
  metadata: GgufMetadataEntry[];
}

function unkText(files: TokenizerFiles): string | undefined {
  const raw = files.tokenizerConfig.unk_token ?? files.specialTokensMap.unk_token;
  return typeof raw === 'string' ? raw : (raw as { content?: string } | undefined)?.content;
}

/**
 * The tokenizer.ggml.* metadata for a checkpoint's tokenizer: SentencePiece
 * (from tokenizer.model when present, else from a SentencePiece-derived
 * tokenizer.json) or GPT-2 byte-level BPE with its detected pre-tokenizer,
 * plus special tokens, add_bos/add_eos and the chat templates.
 */
export async function convertTokenizer(options: TokenizerConversionOptions): Promise<ConvertedTokenizer> {
  const { files, vocabSize } = options;
  const jsonVocab: JsonVocab | undefined = files.tokenizerJson
    ? readJsonVocab(files.tokenizerJson)
    : undefined;
  let tables: VocabTables;
  let model: 'gpt2' | 'llama';
  let pre: string | undefined;
  let preHash: string | undefined;
  let addSpacePrefix: boolean | undefined;
  if (files.sentencePieceModel && (!files.tokenizerJson || isSentencePieceJson(files.tokenizerJson))) {
    const spm = sentencePieceModelVocab(files.sentencePieceModel, vocabSize, jsonVocab);
    tables = spm.tables;
    model = 'llama';
    addSpacePrefix = spm.addDummyPrefix;
  } else if (files.tokenizerJson && isSentencePieceJson(files.tokenizerJson)) {
    tables = sentencePieceJsonVocab(jsonVocab!, vocabSize, unkText(files));
    model = 'llama';
    addSpacePrefix = sentencePieceAddsSpacePrefix(files.tokenizerJson);
  } else if (files.tokenizerJson && (files.tokenizerJson.model as { type?: string }).type === 'BPE') {
    tables = gpt2Vocab(jsonVocab!, vocabSize);
    model = 'gpt2';
    const encoder = options.encoder ?? huggingFaceEncoder(files);
    ({ name: pre, hash: preHash } = await detectPreTokenizer(encoder, files.tokenizerJson));
  } else {
    throw new ConverterError(
      'BAD_TOKENIZER',
      `tokenizer.json has a ${String((files.tokenizerJson?.model as { type?: string })?.type)} model, which Alki does not convert.`,
      {
        hint: 'Supported tokenizers: byte-level BPE (GPT-2 style) and SentencePiece (tokenizer.model, or BPE with byte fallback / Unigram in tokenizer.json).',
      },
    );
  }
  if (options.addSpacePrefix !== undefined) addSpacePrefix = options.addSpacePrefix;

  const metadata: GgufMetadataEntry[] = [
    ggufEntry.string('tokenizer.ggml.model', model),
    ggufEntry.string('tokenizer.ggml.pre', pre ?? 'default'),
    ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, tables.tokens),
  ];
  if (tables.scores)
    metadata.push(ggufEntry.array('tokenizer.ggml.scores', GgufValueType.FLOAT32, tables.scores));
  metadata.push(ggufEntry.array('tokenizer.ggml.token_type', GgufValueType.INT32, tables.types));
  if (tables.merges)
    metadata.push(ggufEntry.array('tokenizer.ggml.merges', GgufValueType.STRING, tables.merges));
  if (model === 'llama' && addSpacePrefix !== undefined)
    metadata.push(ggufEntry.bool('tokenizer.ggml.add_space_prefix', addSpacePrefix));
  metadata.push(
    ...specialTokenMetadata({
      vocab: jsonVocab ?? { model: {}, vocab: new Map(tables.tokens.map((t, i) => [t, i])), added: [] },
      tokenizerConfig: files.tokenizerConfig,
      specialTokensMap: files.specialTokensMap,
      config: options.config,
      tokenizerJson: files.tokenizerJson,
      vocabSize,
    }),
  );
  const [main, ...named] = [...files.chatTemplates].sort((a, b) =>
    a.name === 'default' ? -1 : b.name === 'default' ? 1 : 0,
  );
  if (main) metadata.push(ggufEntry.string('tokenizer.chat_template', main.template));
  for (const template of named)
    metadata.push(ggufEntry.string(`tokenizer.chat_template.${template.name}`, template.template));
  if (named.length)
    metadata.push(
      ggufEntry.array(
        'tokenizer.chat_templates',
        GgufValueType.STRING,
        named.map((t) => t.name),
      ),
    );
  return { model, pre, preHash, metadata };
}

function huggingFaceEncoder(files: TokenizerFiles): TokenEncoder {
  let tokenizer: HfTokenizer;
  try {
    tokenizer = new HfTokenizer(files.tokenizerJson!, files.tokenizerConfig);
  } catch (cause) {
    throw new ConverterError(
      'BAD_TOKENIZER',
      `tokenizer.json cannot be loaded: ${(cause as Error).message}`,
      { cause },
    );
  }
  return (text) => tokenizer.encode(text).ids;
}
