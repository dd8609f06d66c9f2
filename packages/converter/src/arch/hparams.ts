import { ConverterError } from '../errors.js';
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
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's ${keys[0]} is ${value}; it must be a positive integer.`,
      { details: { key: keys[0], value } },
    );
  }
  return value;
}

/** The shared attention shape: heads, kv heads and head size. */
export function attentionShape(config: HfConfig): {
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
} {
  const hidden = requireCount(config, ['hidden_size']);
  const heads = requireCount(config, ['num_attention_heads']);
  const kvHeads = optionalNumber(config, ['num_key_value_heads']) ?? heads;
  const headDim = optionalNumber(config, ['head_dim']) ?? hidden / heads;
  if (!Number.isSafeInteger(headDim) || heads % kvHeads !== 0) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's attention shape is inconsistent (hidden ${hidden}, heads ${heads}, kv heads ${kvHeads}).`,
      {
        details: { hidden, heads, kvHeads },
      },
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
