import { getMetadata, openGguf, type GgufFile, type GgufValue } from '@alki/gguf-reader';
import { fileTypeName } from './file-type.js';

/** What the bundle needs to know about a GGUF, read from its header only. */
export interface ModelFacts {
  architecture: string;
  /** Sum of every tensor's element count. */
  parameterCount: number;
  /** `<arch>.context_length`, 0 when absent. */
  contextLength: number;
  /** llama_ftype name (`MOSTLY_Q8_0`), when `general.file_type` is present and known. */
  fileType?: string;
  /** `tokenizer.chat_template`, when the model has one. */
  chatTemplate?: string;
  /** `general.license`. */
  license?: string;
  /** `general.name`. */
  name?: string;
  /** Shape numbers for the KV-cache estimate; 0 when absent. */
  blockCount: number;
  embeddingLength: number;
  headCount: number;
  headCountKv: number;
}

function numberOf(value: GgufValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

function stringOf(value: GgufValue | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The facts of a parsed GGUF header. Pure: no I/O. */
export function factsFromGguf(file: GgufFile): ModelFacts {
  const architecture = stringOf(getMetadata(file, 'general.architecture')) ?? 'unknown';
  const key = (suffix: string) => getMetadata(file, `${architecture}.${suffix}`);
  const headCount = numberOf(key('attention.head_count'));
  const fileTypeValue = getMetadata(file, 'general.file_type');
  return {
    architecture,
    parameterCount: file.tensors.reduce((sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1), 0),
    contextLength: numberOf(key('context_length')),
    fileType: fileTypeName(fileTypeValue === undefined ? undefined : numberOf(fileTypeValue)),
    chatTemplate: stringOf(getMetadata(file, 'tokenizer.chat_template')),
    license: stringOf(getMetadata(file, 'general.license')),
    name: stringOf(getMetadata(file, 'general.name')),
    blockCount: numberOf(key('block_count')),
    embeddingLength: numberOf(key('embedding_length')),
    headCount,
    // llama.cpp defaults head_count_kv to head_count when the key is absent (llama-model.cpp, load_hparams).
    headCountKv: numberOf(key('attention.head_count_kv')) || headCount,
  };
}

/**
 * Reads the facts of a GGUF file from its header (tensor data is not read).
 *
 * @example
 * const facts = await inspectGguf('model.gguf');
 * console.log(facts.architecture, facts.parameterCount);
 */
export async function inspectGguf(path: string): Promise<ModelFacts> {
  return factsFromGguf(await openGguf(path));
}

/**
 * The chat template family, from tell-tale tokens of the Jinja text, as the
 * manifest's `template` names it; `custom` when none matches, null without one.
 */
export function templateFamily(chatTemplate: string | undefined): string | null {
  if (!chatTemplate) return null;
  if (chatTemplate.includes('<|im_start|>')) return 'chatml';
  if (chatTemplate.includes('<|start_header_id|>')) return 'llama3';
  if (chatTemplate.includes('<start_of_turn>')) return 'gemma';
  if (chatTemplate.includes('<|user|>') && chatTemplate.includes('<|end|>')) return 'phi3';
  if (chatTemplate.includes('[INST]')) return 'mistral';
  return 'custom';
}
