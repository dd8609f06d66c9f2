import path from 'node:path';
import { ConverterError } from '../errors.js';
import { readOptionalJson } from '../input/checkpoint.js';
import { readWholeFile } from '../safetensors/reader.js';

/** The tokenizer-related files of a checkpoint, parsed. */
export interface TokenizerFiles {
  tokenizerJson?: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  /** The bytes of tokenizer.model (SentencePiece protobuf), when present. */
  sentencePieceModel?: Uint8Array;
  /** Chat templates: `default` plus any named ones. */
  chatTemplates: Array<{ name: string; template: string }>;
}

/**
 * Reads tokenizer.json, tokenizer.model, tokenizer_config.json,
 * special_tokens_map.json and the chat template, which comes from
 * tokenizer_config.json first, then chat_template.jinja, then
 * chat_template.json (the order of gguf-py's SpecialVocab).
 */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const tokenizerJson = await readOptionalJson(dir, 'tokenizer.json');
  const tokenizerConfig = (await readOptionalJson(dir, 'tokenizer_config.json')) ?? {};
  const specialTokensMap = (await readOptionalJson(dir, 'special_tokens_map.json')) ?? {};
  const modelFile = path.join(dir, 'tokenizer.model');
  const sentencePieceModel = await readWholeFile(modelFile).then(
    (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    () => undefined,
  );
  if (!tokenizerJson && !sentencePieceModel) {
    throw new ConverterError('BAD_TOKENIZER', `${dir} has neither tokenizer.json nor tokenizer.model.`, {
      details: { dir },
      hint: 'Download the tokenizer files with the model; a GGUF without a tokenizer cannot run.',
    });
  }
  return {
    tokenizerJson,
    tokenizerConfig,
    specialTokensMap,
    sentencePieceModel,
    chatTemplates: await readChatTemplates(dir, tokenizerConfig),
  };
}

async function readChatTemplates(
  dir: string,
  tokenizerConfig: Record<string, unknown>,
): Promise<Array<{ name: string; template: string }>> {
  let raw: unknown = tokenizerConfig.chat_template;
  if (raw === undefined) {
    const jinja = await readWholeFile(path.join(dir, 'chat_template.jinja')).then(
      (b) => b.toString('utf8'),
      () => undefined,
    );
    if (jinja !== undefined) raw = jinja;
    else raw = (await readOptionalJson(dir, 'chat_template.json'))?.chat_template;
  }
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') return [{ name: 'default', template: raw }];
  if (Array.isArray(raw) && raw.every(isNamedTemplate)) {
    return raw.map((t) => ({ name: t.name, template: t.template }));
  }
  throw new ConverterError(
    'BAD_TOKENIZER',
    'The chat_template is neither a string nor a list of {name, template}.',
    { details: { dir } },
  );
}

function isNamedTemplate(value: unknown): value is { name: string; template: string } {
  const entry = value as { name?: unknown; template?: unknown } | null;
  return typeof entry?.name === 'string' && typeof entry.template === 'string';
}
