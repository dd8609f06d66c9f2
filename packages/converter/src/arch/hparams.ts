import { ConverterError } from '../errors.js';
import { UINT32_MAX } from '../check/limits.js';
import type { HfConfig } from './types.js';

/** A required number from config.json, trying each key in turn. */
export function requireNumber(config: HfConfig, keys: string[]): number {
  for (const key of keys) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  throw new ConverterError(
    'BAD_CONFIG',
    `config.json has no numeric ${keys.join(' or ')}, which this architecture needs.`,
    {
      details: { keys },
      hint: 'The config.json is incomplete or from another architecture; download it again.',
    },
  );
}

/** An optional number from config.json. */
export function optionalNumber(config: HfConfig, keys: string[]): number | undefined {
  for (const key of keys) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/** A positive integer hyperparameter (layer and head counts, sizes). */
export function requireCount(config: HfConfig, keys: string[]): number {
  const value = requireNumber(config, keys);
  if (!Number.isSafeInteger(value) || value <= 0 || value > UINT32_MAX) {
    const key = keys.find((k) => config[k] === value) ?? keys[0];
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's ${key} is ${value}; it must be a positive integer below 2^32.`,
      { details: { key, value } },
    );
  }
  return value;
}

/** The shared attention shape: heads, kv heads and head size, each checked against the others. */
export function attentionShape(config: HfConfig): {
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
} {
  const hidden = requireCount(config, ['hidden_size']);
  const heads = requireCount(config, ['num_attention_heads']);
  const kvHeads =
    optionalNumber(config, ['num_key_value_heads']) === undefined
      ? heads
      : requireCount(config, ['num_key_value_heads']);
  const headDim =
    optionalNumber(config, ['head_dim']) === undefined ? hidden / heads : requireCount(config, ['head_dim']);
  if (!Number.isSafeInteger(headDim)) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's hidden_size (${hidden}) is not a multiple of num_attention_heads (${heads}), and there is no head_dim.`,
      { details: { key: 'num_attention_heads', hidden, heads } },
    );
  }
  if (heads % kvHeads !== 0) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads}).`,
      { details: { key: 'num_key_value_heads', heads, kvHeads } },
    );
  }
  return { heads, kvHeads, headDim, hidden };
}

/** rope_scaling (transformers < 4.45) or rope_parameters (newer), with `type` read as `rope_type`. */
export function ropeScaling(config: HfConfig): Record<string, unknown> | undefined {
  const raw = (config.rope_scaling ?? config.rope_parameters) as Record<string, unknown> | null | undefined;
  if (!raw || typeof raw !== 'object') return undefined;
  const type = raw.rope_type ?? raw.type;
  return { ...raw, rope_type: typeof type === 'string' ? type.toLowerCase() : undefined };
}

/**
 * A vision-language checkpoint's text settings: text_config over the top
 * level, as convert_hf_to_gguf's TextModel reads them; config.json as is
 * when it has no text_config.
 */
export function liftTextConfig(config: HfConfig): HfConfig {
  const text = config.text_config;
  return text && typeof text === 'object' && !Array.isArray(text)
    ? { ...config, ...(text as HfConfig) }
    : config;
}
