import { GgmlType } from '@alki/gguf-reader';
import { ConverterError } from './errors.js';
import type { ArchitectureModule, ComputedTensor, HfConfig, TensorTransform } from './arch/types.js';
import type { SourceTensor } from './input/checkpoint.js';

/** Output types of the converter, as `--outtype` names them. */
export type OutType = 'f32' | 'f16' | 'bf16' | 'q8_0';

export const OUT_TYPES: readonly OutType[] = ['f32', 'f16', 'bf16', 'q8_0'];

/** general.file_type values (llama_ftype in llama.h). */
export const FILE_TYPE: Record<OutType, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };

/** One tensor of the output and where its data comes from. */
export interface PlannedTensor {
  name: string;
  type: GgmlType;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  source?: SourceTensor;
  transform?: TensorTransform;
  computed?: Float32Array;
}

/**
 * Which ggml type a tensor gets: 1-D tensors and norms stay F32 (llama.cpp
 * reads them as F32 and they are tiny), Q8_0 needs rows of whole 32-value
 * blocks and falls back to F16 otherwise, as gguf-py does.
 */
export function outputType(name: string, shape: number[], outtype: OutType): GgmlType {
  if (shape.length <= 1 || name.endsWith('_norm.weight') || outtype === 'f32') return GgmlType.F32;
  if (outtype === 'f16') return GgmlType.F16;
  if (outtype === 'bf16') return GgmlType.BF16;
  return shape[shape.length - 1] % 32 === 0 ? GgmlType.Q8_0 : GgmlType.F16;
}

/**
 * Maps every checkpoint tensor through the architecture module. A tensor the
 * module does not know fails the plan (nothing is dropped silently), and so
 * does a transform that does not fit the tensor's shape.
 */
export function planTensors(
  module: ArchitectureModule,
  config: HfConfig,
  tensors: Map<string, SourceTensor>,
  outtype: OutType,
): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  const unknown: string[] = [];
  const sources = [...tensors.values()].sort((a, b) =>
    a.file === b.file ? a.offset - b.offset : a.file < b.file ? -1 : 1,
  );
  for (const source of sources) {
    const mapping = module.mapTensor(source.name, config);
    if (mapping === null) continue;
    if (mapping === undefined) {
      unknown.push(source.name);
      continue;
    }
    if (source.dtype !== 'F32' && source.dtype !== 'F16' && source.dtype !== 'BF16') {
      throw new ConverterError(
        'UNSUPPORTED_DTYPE',
        `Tensor ${source.name} is ${source.dtype}; the converter reads F32, F16 and BF16.`,
        {
          details: { tensor: source.name, dtype: source.dtype },
          hint: 'Pre-quantized checkpoints (GPTQ, AWQ, FP8) are not supported; use the original-precision weights.',
        },
      );
    }
    if (mapping.transform?.kind === 'permute-heads') {
      const rows = source.shape[0];
      if (rows % mapping.transform.heads !== 0 || (rows / mapping.transform.heads) % 2 !== 0) {
        throw new ConverterError(
          'TENSOR_MISMATCH',
          `Tensor ${source.name} has ${rows} rows, which do not split into ${mapping.transform.heads} heads of even size.`,
          {
            details: { tensor: source.name, shape: source.shape },
            hint: 'config.json does not match the weights; download both again.',
          },
        );
      }
    }
    planned.push({
      name: mapping.name,
      type: outputType(mapping.name, source.shape, outtype),
      dims: [...source.shape].reverse(),
      source,
      ...(mapping.transform ? { transform: mapping.transform } : {}),
    });
  }
  if (unknown.length) {
    throw new ConverterError(
      'TENSOR_MISMATCH',
      `${unknown.length} tensor(s) have no GGUF name for ${module.ggufArchitecture}: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}.`,
      {
        details: { tensors: unknown },
        hint: 'The checkpoint has parts this architecture module does not know; it may be a variant that needs its own module.',
      },
    );
  }
  const names = new Set(planned.map((t) => t.name));
  for (const required of ['token_embd.weight', 'output_norm.weight']) {
    if (!names.has(required)) {
      throw new ConverterError('TENSOR_MISMATCH', `The checkpoint has no tensor for ${required}.`, {
        details: { tensor: required },
      });
    }
  }
  const computed: ComputedTensor[] = module.computedTensors?.(config) ?? [];
  for (const tensor of computed)
    planned.push({
      name: tensor.name,
      type: GgmlType.F32,
      dims: [tensor.data.length],
      computed: tensor.data,
    });
  return planned;
}
