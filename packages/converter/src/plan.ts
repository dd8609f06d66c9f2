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
  /**
   * The checkpoint tensors whose bytes make it, written one after another:
   * one, or a layer's experts stacked in expert order. Empty for computed tensors.
   */
  sources: SourceTensor[];
  transform?: TensorTransform;
  computed?: Float32Array;
}

// Tensors ModelBase.prepare_tensors always keeps in F32 (convert_hf_to_gguf's
// base.py), among those Alki writes: expert routers.
const ALWAYS_F32 = ['.ffn_gate_inp.weight', '.ffn_gate_inp_shexp.weight'];

/**
 * Which ggml type a tensor gets: 1-D tensors, norms and routers stay F32
 * (llama.cpp reads them as F32 and they are tiny), Q8_0 needs rows of whole
 * 32-value blocks and falls back to F16 otherwise, as gguf-py does.
 */
export function outputType(name: string, shape: number[], outtype: OutType): GgmlType {
  if (
    shape.length <= 1 ||
    name.endsWith('_norm.weight') ||
    ALWAYS_F32.some((suffix) => name.endsWith(suffix)) ||
    outtype === 'f32'
  )
    return GgmlType.F32;
  if (outtype === 'f16') return GgmlType.F16;
  if (outtype === 'bf16') return GgmlType.BF16;
  return shape[shape.length - 1] % 32 === 0 ? GgmlType.Q8_0 : GgmlType.F16;
}

/**
 * Maps every checkpoint tensor through the architecture module. A tensor the
 * module does not know fails the plan (nothing is dropped silently), and so
 * does a transform that does not fit the tensor's shape, or a stack of
 * experts with one missing or of another shape.
 */
export function planTensors(
  module: ArchitectureModule,
  config: HfConfig,
  tensors: Map<string, SourceTensor>,
  outtype: OutType,
): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  const stacks = new Map<string, Stack>();
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
    if (mapping.stack) {
      addToStack(stacks, planned, mapping.name, mapping.stack, source, outtype);
      continue;
    }
    planned.push({
      name: mapping.name,
      type: module.tensorType?.(mapping.name) ?? outputType(mapping.name, source.shape, outtype),
      dims: [...source.shape].reverse(),
      sources: [source],
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
  for (const [name, stack] of stacks) {
    const missing = stack.slices.findIndex((slice) => slice === undefined);
    if (missing >= 0) {
      throw new ConverterError(
        'TENSOR_MISMATCH',
        `${name} stacks ${stack.slices.length} experts, but the checkpoint has no tensor for expert ${missing}.`,
        {
          details: { tensor: name, expert: missing, experts: stack.slices.length },
          hint: 'A shard is missing, or config.json names more experts than the weights hold.',
        },
      );
    }
    stack.planned.sources = stack.slices as SourceTensor[];
  }
  const names = new Set(planned.map((t) => t.name));
  for (const required of module.requiredTensors ?? ['token_embd.weight', 'output_norm.weight']) {
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
      sources: [],
      computed: tensor.data,
    });
  return planned;
}

interface Stack {
  planned: PlannedTensor;
  slices: (SourceTensor | undefined)[];
}

// A stacked tensor takes the place of its first slice in the plan, so the
// output still follows the checkpoint's order.
function addToStack(
  stacks: Map<string, Stack>,
  planned: PlannedTensor[],
  name: string,
  { index, count }: { index: number; count: number },
  source: SourceTensor,
  outtype: OutType,
): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ConverterError(
      'TENSOR_MISMATCH',
      `Tensor ${source.name} is expert ${index}, but config.json says there are ${count} experts.`,
      {
        details: { tensor: source.name, expert: index, experts: count },
        hint: 'config.json does not match the weights; download both again.',
      },
    );
  }
  let stack = stacks.get(name);
  if (!stack) {
    const entry: PlannedTensor = {
      name,
      type: outputType(name, [count, ...source.shape], outtype),
      dims: [...source.shape].reverse().concat(count),
      sources: [],
    };
    stack = { planned: entry, slices: new Array<SourceTensor | undefined>(count).fill(undefined) };
    stacks.set(name, stack);
    planned.push(entry);
  }
  const first = stack.slices.find((slice) => slice !== undefined);
  if (first && (first.dtype !== source.dtype || first.shape.join() !== source.shape.join())) {
    throw new ConverterError(
      'TENSOR_MISMATCH',
      `Tensor ${source.name} is ${source.dtype} [${source.shape.join(', ')}], but ${first.name} is ${first.dtype} [${first.shape.join(', ')}]; the experts stacked into ${name} must match.`,
      { details: { tensor: source.name, shape: source.shape, expected: first.shape } },
    );
  }
  if (stack.slices[index]) {
    throw new ConverterError('TENSOR_MISMATCH', `Two checkpoint tensors are expert ${index} of ${name}.`, {
      details: { tensor: name, expert: index },
    });
  }
  stack.slices[index] = source;
}
