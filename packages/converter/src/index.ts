export { ConverterError } from './errors.js';
export type { ConverterErrorCode } from './errors.js';
export {
  convert,
  convertProjector,
  hasVisionProjector,
  planConversion,
  PROJECTOR_ARCHITECTURES,
} from './convert.js';
export type { ConvertProgress } from './stream-tensors.js';
export type {
  ConversionPlan,
  ConversionPlanTensor,
  ConvertOptions,
  ConvertProjectorResult,
  ConvertResult,
  PlanConversionOptions,
} from './convert.js';
export { FILE_TYPE, OUT_TYPES, outputType } from './plan.js';
export type { OutType } from './plan.js';
export { ArchitectureRegistry, defaultArchitectures } from './arch/registry.js';
export type {
  ArchitectureModule,
  ArchitectureTokenizerHints,
  ComputedTensor,
  HfConfig,
  TensorMapping,
  TensorTransform,
} from './arch/types.js';
export { mapStandardTensor } from './arch/layers.js';
export { decoderMetadata } from './arch/common-metadata.js';
export { llamaArchitecture } from './arch/llama.js';
export { mistralArchitecture } from './arch/mistral.js';
export { qwen2Architecture } from './arch/qwen2.js';
export { qwen3Architecture } from './arch/qwen3.js';
export { phi3Architecture } from './arch/phi3.js';
export { gemmaArchitecture } from './arch/gemma.js';
export { gemma2Architecture } from './arch/gemma2.js';
export { stablelmArchitecture } from './arch/stablelm.js';
export { gemma3Architecture } from './arch/gemma3.js';
export { smollm3Architecture } from './arch/smollm3.js';
export { graniteArchitecture } from './arch/granite.js';
export { olmo2Architecture } from './arch/olmo2.js';
export { qwen2moeArchitecture } from './arch/qwen2moe.js';
export { qwen3moeArchitecture } from './arch/qwen3moe.js';
export { smolvlmArchitecture } from './arch/smolvlm.js';
export { LLAMA_MAX_EXPERTS, LLAMA_MAX_LAYERS } from './check/limits.js';
export { openCheckpoint, resolveCheckpointDir } from './input/checkpoint.js';
export type { Checkpoint, SourceTensor } from './input/checkpoint.js';
export { detectPreTokenizer } from './tokenizer/pre-tokenizer.js';
export type { TokenEncoder } from './tokenizer/pre-tokenizer.js';
export { PRE_TOKENIZER_CHECK_TEXT } from './tokenizer/pre-tokenizer-table.js';
export { SAFETENSORS_DTYPE_SIZES } from './safetensors/dtypes.js';
export type { SafetensorsDtype } from './safetensors/dtypes.js';
export { MAX_SAFETENSORS_HEADER_BYTES, parseSafetensorsHeader } from './safetensors/header.js';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './safetensors/header.js';
export { readSafetensorsHeader } from './safetensors/reader.js';
export { encodeSafetensorsHeader, writeSafetensors } from './safetensors/writer.js';
export type { SafetensorsEntry, WriteSafetensorsOptions } from './safetensors/writer.js';
export { fp32ToBf16Row } from './tensor/bf16.js';
export { encodeFloat32As } from './tensor/encode.js';
