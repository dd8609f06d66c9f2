import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import { attentionShape, optionalNumber, requireCount, requireNumber } from './hparams.js';
import type { HfConfig } from './types.js';

/**
 * The hyperparameters every decoder-only architecture in llama.cpp reads
 * (llama-model.cpp load_hparams): context, widths, depth, heads, RMS epsilon,
 * rope base and dimension, vocabulary size.
 */
export function decoderMetadata(
  arch: string,
  config: HfConfig,
  options: { normEpsilon?: 'rms' | 'layer'; ropeDims?: number } = {},
): GgufMetadataEntry[] {
  const { heads, kvHeads, headDim, hidden } = attentionShape(config);
  const entries = [
    ggufEntry.uint32(
      `${arch}.context_length`,
      requireCount(config, ['max_position_embeddings', 'n_positions']),
    ),
    ggufEntry.uint32(`${arch}.embedding_length`, hidden),
    ggufEntry.uint32(`${arch}.block_count`, requireCount(config, ['num_hidden_layers'])),
    ggufEntry.uint32(`${arch}.feed_forward_length`, requireCount(config, ['intermediate_size'])),
    ggufEntry.uint32(`${arch}.attention.head_count`, heads),
    ggufEntry.uint32(`${arch}.attention.head_count_kv`, kvHeads),
  ];
  if ((options.normEpsilon ?? 'rms') === 'rms') {
    entries.push(
      ggufEntry.float32(`${arch}.attention.layer_norm_rms_epsilon`, requireNumber(config, ['rms_norm_eps'])),
    );
  } else {
    entries.push(
      ggufEntry.float32(
        `${arch}.attention.layer_norm_epsilon`,
        requireNumber(config, ['layer_norm_eps', 'norm_eps']),
      ),
    );
  }
  const theta =
    optionalNumber(config, ['rope_theta']) ??
    optionalNumber((config.rope_parameters ?? {}) as HfConfig, ['rope_theta']);
  if (theta !== undefined) entries.push(ggufEntry.float32(`${arch}.rope.freq_base`, theta));
  entries.push(ggufEntry.uint32(`${arch}.rope.dimension_count`, options.ropeDims ?? headDim));
  if (headDim !== hidden / heads || config.head_dim !== undefined) {
    entries.push(
      ggufEntry.uint32(`${arch}.attention.key_length`, headDim),
      ggufEntry.uint32(`${arch}.attention.value_length`, headDim),
    );
  }
  entries.push(ggufEntry.uint32(`${arch}.vocab_size`, requireCount(config, ['vocab_size'])));
  return entries;
}
