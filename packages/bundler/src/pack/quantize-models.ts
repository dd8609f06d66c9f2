import { QUANT_MIXES, quantizeGguf } from '@alki/quantizer';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import { quantLabel } from '../model/model-facts.js';
import type { PreparedModel, SourceContext } from './context.js';

/** Quants a bundle can hold: llama.cpp's file-type mixes that @alki/quantizer writes, plus unquantized F16 and F32. */
export const SUPPORTED_QUANTS: readonly string[] = [...QUANT_MIXES, 'F16', 'F32'];

/** Normalises `q4_k_m` to `Q4_K_M` and rejects what cannot be a quant name. */
export function normaliseQuants(quants: readonly string[] | undefined): string[] | undefined {
  if (!quants || quants.length === 0) return undefined;
  const normalised = quants.map((q) => q.trim().toUpperCase());
  for (const quant of normalised) {
    if (!/^[A-Z0-9_]{1,32}$/.test(quant)) {
      throw new BundlerError('INVALID_INPUT', `${JSON.stringify(quant)} is not a quantization name.`, {
        hint: 'Use names such as Q4_K_M, Q5_K_M or Q8_0, separated by commas.',
      });
    }
  }
  const duplicate = normalised.find((q, i) => normalised.indexOf(q) !== i);
  if (duplicate) throw new BundlerError('INVALID_INPUT', `--quantize names ${duplicate} twice.`);
  return normalised;
}

export function checkQuants(quants: readonly string[]): void {
  for (const quant of quants) {
    if (!SUPPORTED_QUANTS.includes(quant)) {
      throw new BundlerError('INVALID_INPUT', `Alki cannot produce ${quant}.`, {
        hint: `Use one of ${SUPPORTED_QUANTS.join(', ')}.`,
        details: { quant },
      });
    }
  }
}

/**
 * One model per requested quant from a base GGUF: the base itself when it
 * already is that quant, else a quantization of it into `scratch`. The base
 * must hold F32, F16 or BF16 weights for the quantizer (it refuses to
 * requantize, as llama-quantize does without --allow-requantize). With an
 * importance matrix in the context, every quantization uses it, as
 * llama-quantize --imatrix does.
 */
export async function quantizeModels(
  base: PreparedModel,
  quants: readonly string[],
  scratch: string,
  context: SourceContext,
): Promise<PreparedModel[]> {
  const own = base.facts.fileType ? quantLabel(base.facts.fileType) : undefined;
  checkQuants(quants.filter((q) => q !== own));
  const models: PreparedModel[] = [];
  for (const quant of quants) {
    if (quant === own) {
      models.push({ ...base, quant });
      continue;
    }
    if (quant === 'F16' || quant === 'F32') {
      throw new BundlerError(
        'INVALID_INPUT',
        `The source is ${own ?? 'of unknown type'}; it cannot be turned into ${quant}.`,
        {
          hint: `Ask for ${own ?? 'the source type'} or a quantized type such as Q8_0.`,
        },
      );
    }
    const output = path.join(scratch, `${quant.toLowerCase()}.gguf`);
    context.progress({ phase: 'quantize', message: `Quantizing to ${quant}` });
    const result = await quantizeGguf({
      input: base.file,
      output,
      mix: quant,
      ...(context.imatrix ? { imatrix: { file: context.imatrix.file } } : {}),
      signal: context.signal,
      onProgress: (p) =>
        context.progress({
          phase: 'quantize',
          file: `${quant} ${p.tensor}`,
          done: p.bytesDone,
          total: p.bytesTotal,
        }),
    });
    models.push({
      file: output,
      quant,
      facts: await context.inspect(output),
      scratch: true,
      ...(result.imatrix ? { imatrix: true } : {}),
    });
  }
  return models;
}
