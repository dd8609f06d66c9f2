// The public API of @alki/gguf-reader. Everything else is private.
export { DEFAULT_ALIGNMENT } from './alignment.js';
export { GgufError } from './errors.js';
export { llamaFileTypeFromName, llamaFileTypeName } from './file-types.js';
export type { GgufErrorCode } from './errors.js';
export { ggmlTypeFromName, ggmlTypeInfo, ggmlTypes, isKnownGgmlType, tensorByteSize } from './ggml-types.js';
export type { GgmlTypeInfo } from './ggml-types.js';
export { MAX_ARRAY_NESTING, MAX_STRING_BYTES, MAX_TENSOR_DIMS, MAX_TENSOR_NAME_BYTES } from './limits.js';
export { getMetadata, ggufArray, ggufEntry } from './metadata.js';
export { openGguf, openSource } from './open-gguf.js';
export type { OpenGgufOptions } from './open-gguf.js';
export { readGguf } from './read-gguf.js';
export type { ReadGgufOptions } from './read-gguf.js';
export { layoutTensors, serializeGgufHeader } from './serialize.js';
export type { GgufHeaderSpec, GgufTensorSpec } from './serialize.js';
export { summarizeGguf } from './summary.js';
export type { GgufSummary, MemoryEstimate, SummaryOptions, TensorTypeShare } from './summary.js';
export { bufferSource } from './sources/buffer-source.js';
export { fileSource, openRegularFile, specialFileKind } from './sources/file-source.js';
export { httpSource } from './sources/http-source.js';
export type { HttpSourceOptions } from './sources/http-source.js';
export { openGgufModel, splitShardLocations } from './split.js';
export type { GgufModel, GgufModelTensor, GgufShard } from './split.js';
export { readTensorData } from './tensor-data.js';
export { GgmlType, GgufValueType } from './types.js';
export type {
  ByteSource,
  GgufArray,
  GgufFile,
  GgufMetadataEntry,
  GgufTensorInfo,
  GgufValue,
} from './types.js';
export {
  isDeadOwner,
  isProcessAlive,
  ownerAfterPrefix,
  removeDeadProcessLeftovers,
  syncDirectory,
  tempSibling,
} from './temp-files.js';
export { commitFileSet, removeDeadTempSiblings, rollForwardFileSets } from './file-set.js';
export type { FileSetFileSystem, FileSetOptions, FileSetRecovery, FileSetRename } from './file-set.js';
export { createGgufWriter } from './writer.js';
export type {
  GgufWriter,
  GgufWriterContent,
  GgufWriterOptions,
  WriterFileHandle,
  WriterFileSystem,
} from './writer.js';
