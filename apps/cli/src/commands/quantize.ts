import os from 'node:os';
import {
  maxQuantizeThreads,
  QUANT_MIXES,
  QuantizerError,
  quantizeGguf,
  type TensorTypeOverride,
} from '@alki/quantizer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';

interface QuantizeArgs extends GlobalOptions {
  input: string;
  output: string;
  mix: string;
  tensorType: string[];
  allowRequantize: boolean;
  pure: boolean;
  outputTensorType?: string;
  tokenEmbeddingType?: string;
  leaveOutputTensor: boolean;
  threads: number;
  force: boolean;
}

/** `PATTERN=TYPE`, as llama-quantize's --tensor-type takes it. */
function parseTensorType(value: string): TensorTypeOverride {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new QuantizerError('UNKNOWN_TYPE', `--tensor-type "${value}" is not PATTERN=TYPE.`, {
      hint: 'For example: --tensor-type attn_v=q8_0',
    });
  }
  return { pattern: value.slice(0, at), type: value.slice(at + 1) };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export const quantizeCommand: AlkiCommand = {
  command: 'quantize <input> <output> <mix>',
  describe: 'Quantize a GGUF to a llama.cpp mix (Q4_K_M, Q5_K_M, ...), byte for byte as llama-quantize does',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('input', { type: 'string', demandOption: true, describe: 'F32, F16 or BF16 GGUF to read' })
      .positional('output', {
        type: 'string',
        demandOption: true,
        describe: 'GGUF to write (written to a temp file, then renamed)',
      })
      .positional('mix', {
        type: 'string',
        demandOption: true,
        describe: `File-type mix: ${QUANT_MIXES.join(', ')} (any case)`,
      })
      .option('tensor-type', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe:
          'Override the type of tensors whose name matches a regular expression: PATTERN=TYPE (repeatable, first match wins)',
      })
      .option('allow-requantize', {
        type: 'boolean',
        default: false,
        describe: 'Accept an input that is already quantized (loses quality)',
      })
      .option('pure', {
        type: 'boolean',
        default: false,
        describe: "Use the mix's base type for every tensor, without llama.cpp's per-tensor rules",
      })
      .option('output-tensor-type', {
        type: 'string',
        describe:
          'Type of output.weight (and of tied token embeddings), as llama-quantize --output-tensor-type',
      })
      .option('token-embedding-type', {
        type: 'string',
        describe: 'Type of the token embeddings, as llama-quantize --token-embedding-type',
      })
      .option('leave-output-tensor', {
        type: 'boolean',
        default: false,
        describe: 'Copy output.weight unquantized, as llama-quantize --leave-output-tensor',
      })
      .option('threads', { type: 'number', default: os.availableParallelism(), describe: 'Worker threads' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .example('$0 quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M', 'Quantize to the Q4_K_M mix')
      .example(
        '$0 quantize model-f16.gguf out.gguf q5_k_m --tensor-type attn_v=q8_0',
        'Q5_K_M, with attn_v tensors kept at Q8_0',
      ),
  handler: withContext<QuantizeArgs>(async (argv, { out, signal }) => {
    const overrides = argv.tensorType.map(parseTensorType);
    if (!Number.isInteger(argv.threads) || argv.threads < 1) {
      throw new QuantizerError('UNKNOWN_TYPE', `--threads must be a positive integer, not ${argv.threads}.`);
    }
    // More threads than a few per core only cost memory: cap them rather than start thousands of workers.
    const cores = os.availableParallelism();
    const threads = Math.min(argv.threads, maxQuantizeThreads(cores));
    if (threads < argv.threads)
      out.warn(
        `--threads ${argv.threads} is more than this ${cores}-core machine can use; using ${threads}.`,
      );
    out.info(`Quantizing ${argv.input} to ${argv.mix.toUpperCase()} with ${threads} thread(s)...`);
    const progress = out.progress('quantize', undefined);
    const result = await quantizeGguf({
      input: argv.input,
      output: argv.output,
      mix: argv.mix,
      tensorTypeOverrides: overrides,
      allowRequantize: argv.allowRequantize,
      pure: argv.pure,
      outputTensorType: argv.outputTensorType,
      tokenEmbeddingType: argv.tokenEmbeddingType,
      leaveOutputTensor: argv.leaveOutputTensor,
      threads,
      overwrite: argv.force,
      signal,
      onProgress: (p) => {
        progress.step(p.tensor);
        progress.update(p.bytesDone, p.bytesTotal);
      },
    });
    progress.done();
    for (const t of result.tensors)
      out.debug(
        `${t.name}: ${t.from} -> ${t.to}${t.fallbackFrom ? ` (fallback from ${t.fallbackFrom})` : ''}`,
      );
    const fallbacks = result.tensors.filter((t) => t.fallbackFrom).length;
    // llama-quantize warns the same way: such rows cannot hold 256-weight blocks.
    if (fallbacks)
      out.warn(
        `${fallbacks} tensor(s) have rows that do not fit their type's blocks and use a fallback type (see --verbose).`,
      );
    out.result(result, () =>
      [
        `Wrote ${result.output}`,
        `mix:      ${result.mix} (general.file_type ${result.fileType})`,
        `size:     ${mib(result.inputBytes)} -> ${mib(result.outputBytes)}`,
        `time:     ${result.seconds.toFixed(1)} s`,
      ].join('\n'),
    );
  }),
};
