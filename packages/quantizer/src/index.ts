// The public API of @alki/quantizer. Everything else is private.
export { QuantizerError } from './errors.js';
export type { QuantizerErrorCode } from './errors.js';

export { maxQuantizeThreads, quantizeGguf } from './quantize-gguf.js';
export type {
  ImatrixOption,
  QuantizedTensorSummary,
  QuantizeGgufOptions,
  QuantizeProgress,
  QuantizeReportRow,
  QuantizeResult,
} from './quantize-gguf.js';
export type { ErrorSummary } from './report.js';
export {
  allowsQuantization,
  compareTensorNames,
  planQuantization,
  QUANTIZATION_VERSION,
  splitMetadata,
} from './plan.js';
export type {
  PlannedTensor,
  PlanOptions,
  QuantizationPlan,
  InputTensor,
  TensorTypeOverride,
} from './plan.js';
export { parseKvOverride } from './kv-override.js';
export { convertImatrix, isGgufImatrix, parseImatrix, serializeImatrix } from './imatrix/imatrix.js';
export type { Imatrix, ImatrixEntry } from './imatrix/imatrix.js';
export { imatrixMetadata, importanceVectors } from './imatrix/importance.js';
export {
  BUILT_IN_CALIBRATION_NAME,
  BUILT_IN_CALIBRATION_TEXT,
  computeImatrix,
} from './imatrix/compute-imatrix.js';
export type {
  ComputeImatrixOptions,
  ComputeImatrixResult,
  ImatrixProgress,
  ToolSpawn,
} from './imatrix/compute-imatrix.js';
export type { ImportanceOptions } from './imatrix/importance.js';
export { mixInfo, QUANT_MIXES, tensorTypeFromName } from './mixes.js';
export type { MixInfo, QuantMix } from './mixes.js';
export { BLOCK_FORMATS, isQuantType } from './blocks/block-types.js';
export type { BlockFormat, QuantType } from './blocks/block-types.js';

export { bf16ToFp32Row, fp16BitsToFp32, fp16ToFp32Row, fp32ToFp16Bits, fp32ToFp16Row } from './float/fp16.js';
export { dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, QK8_0, quantizeRowQ8_0 } from './blocks/q8_0.js';
export { dequantizeRowQ4_0, Q4_0_BLOCK_BYTES, quantizeRowQ4_0 } from './blocks/q4_0.js';
export { dequantizeRowQ4_1, Q4_1_BLOCK_BYTES, quantizeRowQ4_1 } from './blocks/q4_1.js';
export { dequantizeRowQ5_0, Q5_0_BLOCK_BYTES, quantizeRowQ5_0 } from './blocks/q5_0.js';
export { dequantizeRowQ5_1, Q5_1_BLOCK_BYTES, quantizeRowQ5_1 } from './blocks/q5_1.js';
export { dequantizeRowQ4K, Q4_K_BLOCK_BYTES, quantizeRowQ4K } from './blocks/q4_k.js';
export { dequantizeRowQ5K, Q5_K_BLOCK_BYTES, quantizeRowQ5K } from './blocks/q5_k.js';
export { dequantizeRowQ6K, Q6_K_BLOCK_BYTES, quantizeRowQ6K } from './blocks/q6_k.js';
export { QK_K } from './blocks/k-scales.js';
