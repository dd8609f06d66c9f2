import { getMetadata, openGguf, summarizeGguf, type GgufFile } from '@alki/gguf-reader';
import { BundlerError } from '../errors.js';

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
  /** Bytes of tensor data. */
  weightsBytes: number;
  /** F16 KV-cache bytes per context position (the cache grows linearly with the context). */
  kvCacheBytesPerToken: number;
}

/** The facts of a parsed GGUF header, through gguf-reader's summary. Pure. */
export function factsFromGguf(file: GgufFile): ModelFacts {
  // A context of one position gives the per-token KV-cache size.
  const summary = summarizeGguf(file, { contextSize: 1 });
  const chatTemplate = getMetadata(file, 'tokenizer.chat_template');
  return {
    architecture: summary.architecture ?? 'unknown',
    parameterCount: summary.parameterCount,
    contextLength: summary.contextLength ?? 0,
    ...(summary.fileType?.name ? { fileType: summary.fileType.name } : {}),
    ...(typeof chatTemplate === 'string' && chatTemplate ? { chatTemplate } : {}),
    ...(summary.license ? { license: summary.license } : {}),
    ...(summary.name ? { name: summary.name } : {}),
    weightsBytes: summary.memory.weightsBytes,
    kvCacheBytesPerToken: summary.memory.kvCacheBytes,
  };
}

/**
 * Reads the facts of a GGUF file from its header (tensor data is not read).
 * Split models are refused: a bundle artifact is one file.
 *
 * @example
 * const facts = await inspectGguf('model.gguf');
 * console.log(facts.architecture, facts.parameterCount);
 */
export async function inspectGguf(path: string): Promise<ModelFacts> {
  const file = await openGguf(path);
  const shards = getMetadata(file, 'split.count');
  if (typeof shards === 'number' && shards > 1) {
    throw new BundlerError(
      'SOURCE_UNSUPPORTED',
      `${path} is one shard of a ${shards}-file split GGUF; a bundle holds whole model files.`,
      {
        hint: 'Merge the shards first: llama-gguf-split --merge <first-shard> merged.gguf',
        details: { file: path, shards },
      },
    );
  }
  return factsFromGguf(file);
}

/** The quant label of a llama_ftype name: `MOSTLY_Q4_K_M` gives `Q4_K_M`, `ALL_F32` gives `F32`. */
export function quantLabel(fileType: string): string {
  return fileType.replace(/^(MOSTLY|ALL)_/, '');
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
