import fs from 'node:fs';
import path from 'node:path';
import {
  convert,
  ConverterError,
  convertProjector,
  OUT_TYPES,
  planConversion,
  type ConvertProjectorResult,
  type OutType,
} from '@alki/converter';
import { removeDeadTempSiblings, tempSibling } from '@alki/gguf-reader';
import { QUANT_MIXES, quantizeGguf } from '@alki/quantizer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import type { Output } from '../output.js';
import { renderConversionPlan } from './conversion-plan.js';
import { CliError } from '../errors.js';

interface ConvertArgs extends GlobalOptions {
  input: string;
  output?: string;
  mmproj?: string;
  dryRun: boolean;
  outtype: string;
  name?: string;
  license?: string;
  force: boolean;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export const convertCommand: AlkiCommandBody = {
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('input', {
        type: 'string',
        demandOption: true,
        describe: 'Model folder with config.json and *.safetensors, or an HF cache entry (models--org--name)',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        describe: 'GGUF to write (a temp file beside it is renamed when complete); required unless --dry-run',
      })
      .option('mmproj', {
        type: 'string',
        describe:
          "Also write the vision projector GGUF (llama-server's --mmproj) of a vision-language checkpoint (Gemma3ForConditionalGeneration) to this file",
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe:
          'Write nothing: print the detected family, tokenizer and pre-tokenizer, metadata and every tensor planned (GGUF name, type, shape, source)',
      })
      .option('outtype', {
        type: 'string',
        default: 'f16',
        describe: `Tensor type: ${OUT_TYPES.join(', ')} (norms and 1-D tensors stay F32), or a llama.cpp mix (${QUANT_MIXES.filter(
          (m) => m !== 'Q8_0',
        )
          .map((m) => m.toLowerCase())
          .join(', ')}): converted to F16, then quantized as llama-quantize does`,
      })
      .option('name', { type: 'string', describe: 'general.name (default: the repository or folder name)' })
      .option('license', { type: 'string', describe: "general.license (default: the model card's license)" })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .example('$0 convert ./TinyLlama-1.1B-Chat -o tinyllama-f16.gguf', 'Convert to F16')
      .example(
        '$0 convert ~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B --outtype q8_0 -o qwen3-q8_0.gguf',
        'Convert a cached download to Q8_0',
      )
      .example(
        '$0 convert ./TinyLlama-1.1B-Chat --outtype q4_k_m -o tinyllama-q4_k_m.gguf',
        'Convert and quantize to Q4_K_M in one command',
      )
      .example('$0 convert ./SmolLM3-3B --dry-run', 'What would be written, without writing it')
      .example(
        '$0 convert ./gemma-3-4b-it -o gemma-3-4b-it-f16.gguf --mmproj mmproj-gemma-3-4b-it-f16.gguf',
        'The text model and its vision projector',
      ),
  handler: withContext<ConvertArgs>(async (argv, { out, signal }) => {
    const outtype = argv.outtype.toLowerCase();
    const mix = QUANT_MIXES.find(
      (m) => m.toLowerCase() === outtype && !(OUT_TYPES as readonly string[]).includes(outtype),
    );
    if (!mix && !(OUT_TYPES as readonly string[]).includes(outtype)) {
      throw new CliError('USAGE', `--outtype ${argv.outtype} is not one of ${OUT_TYPES.join(', ')}.`, {
        hint: `Or a quantization mix: ${QUANT_MIXES.map((m) => m.toLowerCase()).join(', ')}.`,
        details: { flag: '--outtype' },
      });
    }
    if (argv.dryRun) {
      // A mix is planned as its F16 intermediate, which is what the converter itself writes.
      const plan = await planConversion({
        input: argv.input,
        outtype: mix ? 'f16' : (outtype as OutType),
        name: argv.name,
        license: argv.license,
      });
      out.result(plan, () => renderConversionPlan(plan, { tensors: true }));
      return;
    }
    if (!argv.output) {
      throw new CliError('USAGE', 'Name the GGUF to write with -o FILE, or pass --dry-run.', {
        details: { flag: '--output' },
      });
    }
    const output = argv.output;
    if (mix) {
      await convertAndQuantize({ ...argv, output }, mix, out, signal);
      return;
    }
    out.info(`Converting ${argv.input} to ${outtype.toUpperCase()}...`);
    const progress = out.progress('convert', undefined);
    const result = await convert({
      input: argv.input,
      output,
      outtype: outtype as OutType,
      name: argv.name,
      license: argv.license,
      force: argv.force,
      signal,
      onProgress: (p) => {
        progress.step(p.tensor);
        progress.update(p.bytesDone, p.bytesTotal);
      },
    });
    progress.done();
    const projector = await writeProjector(argv, outtype as OutType, signal);
    out.result({ ...result, ...(projector ? { mmproj: projector } : {}) }, () =>
      [
        `Wrote ${result.output}`,
        ...(projector ? [`Wrote ${projector.output} (vision projector, ${projector.projectorType})`] : []),
        `architecture: ${result.architecture} -> ${result.ggufArchitecture}`,
        `outtype:      ${result.outtype}, ${result.tensorCount} tensors, ${result.parameterCount.toLocaleString('en-US')} parameters, ${mib(result.bytes)}`,
        `tokenizer:    ${result.tokenizer.model}${result.tokenizer.pre ? ` (pre-tokenizer ${result.tokenizer.pre})` : ''}, chat template ${result.chatTemplate ? 'kept' : 'absent'}`,
      ].join('\n'),
    );
  }),
};

// The vision projector, when --mmproj asks for it.
async function writeProjector(
  argv: ConvertArgs,
  outtype: OutType,
  signal: AbortSignal,
): Promise<ConvertProjectorResult | undefined> {
  if (!argv.mmproj) return undefined;
  return convertProjector({
    input: argv.input,
    output: argv.mmproj,
    outtype,
    name: argv.name,
    license: argv.license,
    force: argv.force,
    signal,
  });
}

// A k-quant (or other llama.cpp) mix: convert to F16 beside the output, as the
// llama.cpp workflow does (convert_hf_to_gguf --outtype f16, then
// llama-quantize), quantize from it, and remove the intermediate file whatever happens.
async function convertAndQuantize(
  argv: ConvertArgs & { output: string },
  mix: string,
  out: Output,
  signal: AbortSignal,
): Promise<void> {
  if (!argv.force && fs.existsSync(argv.output)) {
    throw new ConverterError('OUTPUT_EXISTS', `${argv.output} already exists.`, {
      hint: 'Choose another output path, or pass --force to replace it.',
    });
  }
  // The F16 file sits in a temp directory named for this process beside the output, so a
  // run killed with SIGKILL leaves something the next write to that output recognises and removes.
  await removeDeadTempSiblings(argv.output);
  const scratch = tempSibling(path.resolve(argv.output));
  await fs.promises.mkdir(scratch, { recursive: true });
  const intermediate = path.join(scratch, 'f16.gguf');
  try {
    out.info(`Converting ${argv.input} to F16, then quantizing to ${mix}...`);
    const converting = out.progress('convert', undefined);
    const converted = await convert({
      input: argv.input,
      output: intermediate,
      outtype: 'f16',
      name: argv.name,
      license: argv.license,
      force: true,
      signal,
      onProgress: (p) => {
        converting.step(p.tensor);
        converting.update(p.bytesDone, p.bytesTotal);
      },
    });
    converting.done();
    const quantizing = out.progress('quantize', undefined);
    const quantized = await quantizeGguf({
      input: intermediate,
      output: argv.output,
      mix,
      overwrite: argv.force,
      signal,
      onProgress: (p) => {
        quantizing.step(p.tensor);
        quantizing.update(p.bytesDone, p.bytesTotal);
      },
    });
    quantizing.done();
    // The projector stays F16, as llama.cpp's published mmproj files are.
    const projector = await writeProjector(argv, 'f16', signal);
    const result = {
      ...converted,
      ...(projector ? { mmproj: projector } : {}),
      output: quantized.output,
      outtype: mix.toLowerCase(),
      bytes: quantized.outputBytes,
      fileType: quantized.fileType,
    };
    out.result(result, () =>
      [
        `Wrote ${result.output}`,
        ...(projector ? [`Wrote ${projector.output} (vision projector, ${projector.projectorType})`] : []),
        `architecture: ${converted.architecture} -> ${converted.ggufArchitecture}`,
        `outtype:      ${mix} (from F16), ${converted.tensorCount} tensors, ${converted.parameterCount.toLocaleString('en-US')} parameters, ${mib(quantized.outputBytes)}`,
        `tokenizer:    ${converted.tokenizer.model}${converted.tokenizer.pre ? ` (pre-tokenizer ${converted.tokenizer.pre})` : ''}, chat template ${converted.chatTemplate ? 'kept' : 'absent'}`,
      ].join('\n'),
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
