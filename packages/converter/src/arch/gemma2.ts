import { ggufEntry } from '@alki/gguf-reader';
import { decoderMetadata } from './common-metadata.js';
import { attentionShape, optionalNumber } from './hparams.js';
import { gemmaNormShift } from './gemma.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule } from './types.js';

/**
 * Gemma2ForCausalLM: sandwich norms around attention and MLP, attention and
 * final logit softcapping, a sliding window on alternate layers.
 */
export const gemma2Architecture: ArchitectureModule = {
  hfArchitectures: ['Gemma2ForCausalLM'],
  ggufArchitecture: 'gemma2',
  metadata: (config) => {
    const { headDim } = attentionShape(config);
    const entries = decoderMetadata('gemma2', config).filter(
      (e) => !e.key.endsWith('.key_length') && !e.key.endsWith('.value_length'),
    );
    entries.push(
      ggufEntry.uint32('gemma2.attention.key_length', headDim),
      ggufEntry.uint32('gemma2.attention.value_length', headDim),
    );
    const attnCap = optionalNumber(config, ['attn_logit_softcapping']);
    const finalCap = optionalNumber(config, ['final_logit_softcapping']);
    if (attnCap) entries.push(ggufEntry.float32('gemma2.attn_logit_softcapping', attnCap));
    if (finalCap) entries.push(ggufEntry.float32('gemma2.final_logit_softcapping', finalCap));
    const window = optionalNumber(config, ['sliding_window']);
    if (window) entries.push(ggufEntry.uint32('gemma2.attention.sliding_window', window));
    return entries;
  },
  mapTensor: (name) =>
    mapStandardTensor(name, {
      layerNames: {
        post_attention_layernorm: 'post_attention_norm',
        pre_feedforward_layernorm: 'ffn_norm',
        post_feedforward_layernorm: 'post_ffw_norm',
      },
      transform: gemmaNormShift,
    }),
  tokenizer: { addSpacePrefix: false },
};
