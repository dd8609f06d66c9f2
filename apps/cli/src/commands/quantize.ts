import os from 'node:os';
import {
  maxQuantizeThreads,
  parseKvOverride,
  QUANT_MIXES,
  quantizeGguf,
  type QuantizeReportRow,
  type TensorTypeOverride,
} from '@alki/quantizer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { refuseSpecialFile } from '../flags.js';

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
  imatrix?: string;
  includeWeights: string[];
  excludeWeights: string[];
  overrideKv: string[];
  pruneLayers?: string;
  keepSplit: boolean;
  report: boolean;
  threads: number;
  force: boolean;
}

/** `1,3,5`, as llama-quantize's --prune-layers takes it. */
function parsePruneLayers(value: string): number[] {
  const layers = value.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : NaN));
  if (layers.some((layer) => !Number.isSafeInteger(layer))) {
    throw new CliError('USAGE', `--prune-layers "${value}" is not a list of block numbers.`, {
      hint: 'For example: --prune-layers 20,21',
      details: { flag: '--prune-layers' },
    });
  }
  return layers;
}

/** `PATTERN=TYPE`, as llama-quantize's --tensor-type takes it. */
function parseTensorType(value: string): TensorTypeOverride {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new CliError('USAGE', `--tensor-type "${value}" is not PATTERN=TYPE.`, {
      hint: 'For example: --tensor-type attn_v=q8_0',
      details: { flag: '--tensor-type' },
    });
  }
  return { pattern: value.slice(0, at), type: value.slice(at + 1) };
}

// The report table: one line per output type, the error as quantize-stats prints it.
function reportLines(rows: QuantizeReportRow[]): string[] {
  const weighted = rows.some((row) => row.withoutImatrix);
  const header = ['type', 'tensors', 'size', 'bpw', 'rmse', 'maxerr', '95pct<', 'median<'];
  if (weighted) header.push('weighted rmse', 'without imatrix');
  const lines = rows.map((row) => {
    const cells = [
      row.type,
      String(row.tensors),
      mib(row.bytes),
      ((row.bytes * 8) / row.weights).toFixed(2),
      row.error ? row.error.rmse.toFixed(8) : '-',
      row.error ? row.error.maxError.toFixed(8) : '-',
      row.error ? row.error.p95.toFixed(4) : '-',
      row.error ? row.error.median.toFixed(4) : '-',
    ];
    if (weighted) {
      const withIt = row.error?.weightedRmse;
      const without = row.withoutImatrix?.weightedRmse;
      cells.push(
        withIt === undefined ? '-' : withIt.toExponential(4),
        without === undefined || withIt === undefined
          ? '-'
          : `${without.toExponential(4)} (${(((withIt - without) / without) * 100).toFixed(1)}%)`,
      );
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((cells) => cells[i].length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [format(header), ...lines.map(format)];
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export const quantizeCommand: AlkiCommandBody = {
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
      .option('imatrix', {
        type: 'string',
        describe:
          'Importance matrix (GGUF or legacy .dat, from alki imatrix or llama-imatrix) to weigh the quantization by',
      })
      .option('include-weights', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Use the importance matrix only for tensors whose name contains this (repeatable)',
      })
      .option('exclude-weights', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Do not use the importance matrix for tensors whose name contains this (repeatable)',
      })
      .option('override-kv', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe:
          'Set a metadata key in the output: KEY=TYPE:VALUE, TYPE int, float, bool or str (repeatable)',
      })
      .option('prune-layers', {
        type: 'string',
        describe: 'Drop these blocks and renumber the rest: comma-separated block numbers',
      })
      .option('keep-split', {
        type: 'boolean',
        default: false,
        describe: 'Write one output shard per input shard (OUTPUT-00001-of-0000N.gguf)',
      })
      .option('report', {
        type: 'boolean',
        default: false,
        describe:
          "Print each output type's size and quantization error (rmse, max, 95th percentile, median, as llama.cpp's quantize-stats); with --imatrix, also without it",
      })
      .option('threads', { type: 'number', default: os.availableParallelism(), describe: 'Worker threads' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .example('$0 quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M', 'Quantize to the Q4_K_M mix')
      .example(
        '$0 quantize model-f16.gguf out.gguf q5_k_m --tensor-type attn_v=q8_0',
        'Q5_K_M, with attn_v tensors kept at Q8_0',
      )
      .example(
        '$0 quantize model-f16.gguf model-iq4_xs.gguf IQ4_XS --imatrix model.imatrix',
        'IQ4_XS weighed by an importance matrix (alki imatrix model-f16.gguf -o model.imatrix)',
      ),
  handler: withContext<QuantizeArgs>(async (argv, { out, signal }) => {
    const overrides = argv.tensorType.map(parseTensorType);
    const metadataOverrides = argv.overrideKv.map(parseKvOverride);
    if (argv.includeWeights.length > 0 && argv.excludeWeights.length > 0) {
      throw new CliError('USAGE', '--include-weights and --exclude-weights cannot be used together.', {
        hint: 'Name the tensors to weigh with one of them, as llama-quantize requires.',
        details: { flag: '--exclude-weights' },
      });
    }
    if ((argv.includeWeights.length > 0 || argv.excludeWeights.length > 0) && !argv.imatrix) {
      throw new CliError('USAGE', '--include-weights and --exclude-weights need --imatrix.', {
        hint: 'Pass --imatrix FILE.',
        details: { flag: '--imatrix' },
      });
    }
    if (!Number.isInteger(argv.threads) || argv.threads < 1) {
      throw new CliError('USAGE', `--threads must be a positive integer, not ${argv.threads}.`, {
        details: { flag: '--threads' },
      });
    }
    await refuseSpecialFile(argv.imatrix, '--imatrix');
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
      imatrix: argv.imatrix
        ? { file: argv.imatrix, includeWeights: argv.includeWeights, excludeWeights: argv.excludeWeights }
        : undefined,
      metadataOverrides,
      pruneLayers: argv.pruneLayers === undefined ? undefined : parsePruneLayers(argv.pruneLayers),
      keepSplit: argv.keepSplit,
      report: argv.report,
      threads,
      overwrite: argv.force,
      signal,
      onWarning: (message) => out.warn(message),
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
        `Wrote ${result.outputs.join(', ')}`,
        `mix:      ${result.mix} (general.file_type ${result.fileType})`,
        ...(result.imatrix
          ? [
              `imatrix:  ${result.imatrix.file} (${result.imatrix.entries} entries, ${result.imatrix.chunks} chunks)`,
            ]
          : []),
        `size:     ${mib(result.inputBytes)} -> ${mib(result.outputBytes)}`,
        `time:     ${result.seconds.toFixed(1)} s`,
        ...(result.report ? ['', ...reportLines(result.report)] : []),
      ].join('\n'),
    );
  }),
};
