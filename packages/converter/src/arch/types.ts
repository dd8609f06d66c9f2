import type { GgmlType, GgufMetadataEntry } from '@alki/gguf-reader';

/** config.json as parsed. */
export type HfConfig = Record<string, unknown>;

/**
 * A change applied to a tensor's rows on the way to the GGUF. Each one only
 * needs a bounded group of rows at a time, which keeps conversion streaming.
 */
export type TensorTransform =
  /**
   * llama.cpp's Q/K row permutation (LlamaModel.permute in convert_hf_to_gguf):
   * HF stores each head's rotary halves as [first half; second half], ggml's
   * NORM rope pairs neighbouring rows, so rows are interleaved per head.
   */
  | { kind: 'permute-heads'; heads: number }
  /** Adds a constant to every value (Gemma stores RMSNorm weights minus one). */
  | { kind: 'add'; value: number };

/** One output tensor taken from one checkpoint tensor. */
export interface TensorMapping {
  /** The GGUF tensor name (`blk.0.attn_q.weight`). */
  name: string;
  /** The Hugging Face tensor name it comes from. */
  source: string;
  transform?: TensorTransform;
  /**
   * This tensor is one slice of a stacked output tensor: expert `index` of
   * `count` (Qwen2MoeModel.modify_tensors in convert_hf_to_gguf stacks each
   * layer's experts into one 3-D `ffn_*_exps` tensor, expert 0 first).
   */
  stack?: { index: number; count: number };
}

/** A tensor computed from the config rather than read (rope frequency factors). Always F32. */
export interface ComputedTensor {
  name: string;
  data: Float32Array;
}

/** Hints for the tokenizer conversion that depend on the architecture. */
export interface ArchitectureTokenizerHints {
  /** SentencePiece models: whether llama.cpp should prepend a space (Gemma: false). */
  addSpacePrefix?: boolean;
}

/**
 * One architecture: how its config becomes GGUF hyperparameters and how its
 * tensors are named and transformed. Register more with
 * `ArchitectureRegistry.register`.
 */
export interface ArchitectureModule {
  /** `architectures[0]` values in config.json that this module converts. */
  hfArchitectures: string[];
  /** `general.architecture` in the GGUF (llama.cpp's LLM_ARCH name). */
  ggufArchitecture: string;
  /**
   * The config the other hooks read, when it is not config.json as is: a
   * vision-language checkpoint's `text_config` lifted to the top level, as
   * convert_hf_to_gguf's TextModel does.
   */
  textConfig?(config: HfConfig): HfConfig;
  /** Architecture hyperparameters, keys prefixed with `ggufArchitecture`. */
  metadata(config: HfConfig): GgufMetadataEntry[];
  /**
   * The output tensor for a checkpoint tensor, or null to drop it on purpose
   * (rotary caches). Returning undefined marks it unknown, which fails the
   * conversion so nothing is silently lost.
   */
  mapTensor(name: string, config: HfConfig): TensorMapping | null | undefined;
  /** Tensors computed from the config, added after the mapped ones. */
  computedTensors?(config: HfConfig): ComputedTensor[];
  tokenizer?: ArchitectureTokenizerHints;
  /** GGUF tensors the output must have; default token_embd.weight and output_norm.weight. */
  requiredTensors?: string[];
  /** A type the reference converter forces on a tensor whatever the output type; undefined for the usual rule. */
  tensorType?(ggufName: string): GgmlType | undefined;
  /**
   * Checks config.json values llama.cpp hard-codes or cannot express for
   * this architecture (a fixed NoPE period, a router normalisation), before
   * anything is written. Throws a ConverterError naming the key.
   */
  checkConfig?(config: HfConfig): void;
}
