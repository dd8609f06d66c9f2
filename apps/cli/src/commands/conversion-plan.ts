import type { ConversionPlan } from '@alki/converter';

/**
 * What `alki convert --dry-run` and `alki inspect <checkpoint>` print: the
 * detected family, its tokenizer, and (with `tensors`) every tensor the GGUF
 * would hold, with the checkpoint tensors it comes from.
 */
export function renderConversionPlan(plan: ConversionPlan, options: { tensors: boolean }): string {
  const tokenizer = `${plan.tokenizer.model}${plan.tokenizer.pre ? `, pre-tokenizer ${plan.tokenizer.pre}` : ''}`;
  const lines = [
    `checkpoint:   ${plan.dir}`,
    `architecture: ${plan.architecture} -> ${plan.ggufArchitecture}`,
    `outtype:      ${plan.outtype}, ${plan.tensors.length} tensors, ${plan.parameterCount.toLocaleString('en-US')} parameters`,
    `tokenizer:    ${tokenizer}, chat template ${plan.chatTemplate ? 'kept' : 'absent'}`,
  ];
  const keys = Object.keys(plan.metadata).filter((k) => k.startsWith(`${plan.ggufArchitecture}.`));
  lines.push(
    `hparams:      ${keys.map((k) => `${k.slice(plan.ggufArchitecture.length + 1)}=${formatValue(plan.metadata[k])}`).join(', ')}`,
  );
  if (!options.tensors) return lines.join('\n');
  const nameWidth = Math.max(...plan.tensors.map((t) => t.name.length));
  lines.push('', 'tensors (GGUF name, type, shape in ggml order, from):');
  for (const tensor of plan.tensors) {
    const from =
      tensor.sources.length === 0
        ? 'computed from config.json'
        : tensor.sources.length === 1
          ? tensor.sources[0]
          : `${tensor.sources[0]} … ${tensor.sources[tensor.sources.length - 1]} (${tensor.sources.length} stacked)`;
    lines.push(
      `  ${tensor.name.padEnd(nameWidth)}  ${tensor.type.padEnd(4)}  [${tensor.dims.join(', ')}]  <- ${from}`,
    );
  }
  return lines.join('\n');
}

function formatValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isInteger(value))
    return String(Math.fround(value) === value ? value : Number(value.toPrecision(7)));
  return Array.isArray(value) ? `[${value.length} values]` : String(value);
}
