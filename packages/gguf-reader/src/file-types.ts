// GGUF `general.file_type` values are llama.cpp's enum llama_ftype
// (include/llama.h), named without the LLAMA_FTYPE_ prefix as
// llama_model_ftype_name prints them. Ids 4-6 and 33-35 are retired.
const FILE_TYPES: Record<number, string> = {
  0: 'ALL_F32',
  1: 'MOSTLY_F16',
  2: 'MOSTLY_Q4_0',
  3: 'MOSTLY_Q4_1',
  7: 'MOSTLY_Q8_0',
  8: 'MOSTLY_Q5_0',
  9: 'MOSTLY_Q5_1',
  10: 'MOSTLY_Q2_K',
  11: 'MOSTLY_Q3_K_S',
  12: 'MOSTLY_Q3_K_M',
  13: 'MOSTLY_Q3_K_L',
  14: 'MOSTLY_Q4_K_S',
  15: 'MOSTLY_Q4_K_M',
  16: 'MOSTLY_Q5_K_S',
  17: 'MOSTLY_Q5_K_M',
  18: 'MOSTLY_Q6_K',
  19: 'MOSTLY_IQ2_XXS',
  20: 'MOSTLY_IQ2_XS',
  21: 'MOSTLY_Q2_K_S',
  22: 'MOSTLY_IQ3_XS',
  23: 'MOSTLY_IQ3_XXS',
  24: 'MOSTLY_IQ1_S',
  25: 'MOSTLY_IQ4_NL',
  26: 'MOSTLY_IQ3_S',
  27: 'MOSTLY_IQ3_M',
  28: 'MOSTLY_IQ2_S',
  29: 'MOSTLY_IQ2_M',
  30: 'MOSTLY_IQ4_XS',
  31: 'MOSTLY_IQ1_M',
  32: 'MOSTLY_BF16',
  36: 'MOSTLY_TQ1_0',
  37: 'MOSTLY_TQ2_0',
  38: 'MOSTLY_MXFP4_MOE',
  39: 'MOSTLY_NVFP4',
  40: 'MOSTLY_Q1_0',
  41: 'MOSTLY_Q2_0',
};
const BY_NAME = new Map(Object.entries(FILE_TYPES).map(([id, name]) => [name, Number(id)]));

/**
 * The llama_ftype name of a `general.file_type` value (`MOSTLY_Q4_K_M`), or undefined.
 *
 * @example
 * llamaFileTypeName(15); // 'MOSTLY_Q4_K_M'
 */
export function llamaFileTypeName(id: number): string | undefined {
  return FILE_TYPES[id];
}

/**
 * The `general.file_type` value for a name, with or without the MOSTLY_/ALL_
 * prefix, any case (`Q4_K_M`, `mostly_q8_0`, `F32`); undefined if unknown.
 *
 * @example
 * llamaFileTypeFromName('Q4_K_M'); // 15
 */
export function llamaFileTypeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  return BY_NAME.get(upper) ?? BY_NAME.get(`MOSTLY_${upper}`) ?? BY_NAME.get(`ALL_${upper}`);
}
