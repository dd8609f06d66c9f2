// GGUF `general.file_type` values are llama.cpp's enum llama_ftype
// (include/llama.h). The names below drop the LLAMA_FTYPE_ prefix, as
// llama.cpp's llama_model_ftype_name prints them; the quant label is what a
// user types (`Q4_K_M`).
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
};

/** The llama_ftype name of a `general.file_type` value, or undefined for an unknown one. */
export function fileTypeName(value: number | undefined): string | undefined {
  return value === undefined ? undefined : FILE_TYPES[value];
}

/** The quant label of a file type name: `MOSTLY_Q4_K_M` gives `Q4_K_M`, `ALL_F32` gives `F32`. */
export function quantLabel(fileType: string): string {
  return fileType.replace(/^(MOSTLY|ALL)_/, '');
}
