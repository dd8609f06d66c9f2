// The file types (llama_ftype in llama.cpp's include/llama.h) Alki writes,
// and their default tensor type (llama_ftype_get_default_type in
// src/llama-quant.cpp).
import { GgmlType } from '@alki/gguf-reader';
import { QuantizerError } from './errors.js';
import { BLOCK_FORMATS, type QuantType } from './blocks/block-types.js';

/** A file-type mix name, as llama-quantize spells it. */
export type QuantMix =
  | 'Q4_0'
  | 'Q4_1'
  | 'Q5_0'
  | 'Q5_1'
  | 'Q8_0'
  | 'Q2_K'
  | 'Q2_K_S'
  | 'Q3_K_S'
  | 'Q3_K_M'
  | 'Q3_K_L'
  | 'Q4_K_S'
  | 'Q4_K_M'
  | 'Q5_K_S'
  | 'Q5_K_M'
  | 'Q6_K'
  | 'IQ4_NL'
  | 'IQ4_XS';

export interface MixInfo {
  mix: QuantMix;
  /** The llama_ftype number written to general.file_type. */
  fileType: number;
  defaultType: QuantType;
}

const MIXES: MixInfo[] = [
  { mix: 'Q4_0', fileType: 2, defaultType: GgmlType.Q4_0 },
  { mix: 'Q4_1', fileType: 3, defaultType: GgmlType.Q4_1 },
  { mix: 'Q8_0', fileType: 7, defaultType: GgmlType.Q8_0 },
  { mix: 'Q5_0', fileType: 8, defaultType: GgmlType.Q5_0 },
  { mix: 'Q5_1', fileType: 9, defaultType: GgmlType.Q5_1 },
  { mix: 'Q2_K', fileType: 10, defaultType: GgmlType.Q2_K },
  { mix: 'Q2_K_S', fileType: 21, defaultType: GgmlType.Q2_K },
  { mix: 'Q3_K_S', fileType: 11, defaultType: GgmlType.Q3_K },
  { mix: 'Q3_K_M', fileType: 12, defaultType: GgmlType.Q3_K },
  { mix: 'Q3_K_L', fileType: 13, defaultType: GgmlType.Q3_K },
  { mix: 'Q4_K_S', fileType: 14, defaultType: GgmlType.Q4_K },
  { mix: 'Q4_K_M', fileType: 15, defaultType: GgmlType.Q4_K },
  { mix: 'Q5_K_S', fileType: 16, defaultType: GgmlType.Q5_K },
  { mix: 'Q5_K_M', fileType: 17, defaultType: GgmlType.Q5_K },
  { mix: 'Q6_K', fileType: 18, defaultType: GgmlType.Q6_K },
  { mix: 'IQ4_NL', fileType: 25, defaultType: GgmlType.IQ4_NL },
  { mix: 'IQ4_XS', fileType: 30, defaultType: GgmlType.IQ4_XS },
];

// The short names llama-quantize accepts for the medium mixes (QUANT_OPTIONS in tools/quantize/quantize.cpp).
const ALIASES: Record<string, QuantMix> = { Q3_K: 'Q3_K_M', Q4_K: 'Q4_K_M', Q5_K: 'Q5_K_M' };

/** Every mix Alki writes. */
export const QUANT_MIXES: readonly QuantMix[] = MIXES.map((m) => m.mix);

/**
 * The mix for a name, case-insensitively ('q4_k_m' works), or for one of
 * llama-quantize's aliases (Q3_K, Q4_K and Q5_K are the _M mixes).
 *
 * @example
 * mixInfo('q4_k_m').fileType; // 15
 */
export function mixInfo(name: string): MixInfo {
  const upper = name.toUpperCase();
  const found = MIXES.find((m) => m.mix === (ALIASES[upper] ?? upper));
  if (!found) {
    throw new QuantizerError('UNKNOWN_TYPE', `Unknown quantization mix "${name}".`, {
      hint: `Use one of ${QUANT_MIXES.join(', ')}.`,
      details: { mix: name },
    });
  }
  return found;
}

/** A tensor type name as --tensor-type takes it (any of the block types, F16 or F32), case-insensitively. */
export function tensorTypeFromName(name: string): QuantType | GgmlType.F16 | GgmlType.F32 {
  const upper = name.toUpperCase();
  if (upper === 'F16') return GgmlType.F16;
  if (upper === 'F32') return GgmlType.F32;
  for (const format of BLOCK_FORMATS.values()) if (format.name === upper) return format.type;
  throw new QuantizerError('UNKNOWN_TYPE', `Unknown or unsupported tensor type "${name}".`, {
    hint: `Use one of ${[...[...BLOCK_FORMATS.values()].map((f) => f.name), 'F16', 'F32'].join(', ')}.`,
    details: { type: name },
  });
}
