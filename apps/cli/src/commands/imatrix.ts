import path from 'node:path';
import { requireLlamaTool } from '@alki/llama-tools';
import { computeImatrix } from '@alki/quantizer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { refuseSpecialFile } from '../flags.js';

interface ImatrixArgs extends GlobalOptions {
  model: string;
  output?: string;
  text?: string;
  contextSize: number;
  chunks?: number;
  threads?: number;
  resume: boolean;
  force: boolean;
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1))
    throw new CliError('USAGE', `--${name} must be a positive integer, not ${value}.`, {
      details: { flag: `--${name}` },
    });
}

export const imatrixCommand: AlkiCommandBody = {
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('model', {
        type: 'string',
        demandOption: true,
        describe: 'GGUF to run (F16 or F32 is best)',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        describe: 'File to write; .dat writes the legacy format (default: MODEL.imatrix.gguf)',
      })
      .option('text', {
        type: 'string',
        describe: "Calibration text file (default: Alki's built-in text)",
      })
      .option('context-size', {
        alias: 'c',
        type: 'number',
        default: 512,
        describe: 'Tokens per chunk',
      })
      .option('chunks', { type: 'number', describe: 'Process at most this many chunks (default: all)' })
      .option('threads', { alias: 't', type: 'number', describe: 'Threads (default: llama.cpp picks)' })
      .option('resume', {
        type: 'boolean',
        default: true,
        describe: 'Continue an interrupted run from its last finished segment (--no-resume starts over)',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .example('$0 imatrix model-f16.gguf -o model.imatrix.gguf', 'Over the built-in calibration text')
      .example(
        '$0 imatrix model-f16.gguf --text wiki.train.raw --chunks 100 -o model.imatrix.gguf',
        'Over your own text, at most 100 chunks of 512 tokens',
      ),
  handler: withContext<ImatrixArgs>(async (argv, { out, signal }) => {
    positiveInteger('context-size', argv.contextSize);
    positiveInteger('chunks', argv.chunks);
    positiveInteger('threads', argv.threads);
    await refuseSpecialFile(argv.text, '--text');
    const output = argv.output ?? `${argv.model.replace(/\.gguf$/i, '')}.imatrix.gguf`;
    out.info(
      `Computing an importance matrix for ${argv.model} over ${argv.text ?? 'the built-in calibration text'}...`,
    );
    const progress = out.progress('imatrix', undefined);
    const result = await computeImatrix({
      model: argv.model,
      output,
      text: argv.text,
      llamaImatrix: requireLlamaTool('llama-imatrix'),
      llamaTokenize: requireLlamaTool('llama-tokenize'),
      contextSize: argv.contextSize,
      chunks: argv.chunks,
      threads: argv.threads,
      resume: argv.resume,
      overwrite: argv.force,
      signal,
      onProgress: (p) => {
        if (p.resumedFrom !== undefined) out.info(`Resuming after chunk ${p.resumedFrom}.`);
        progress.update(p.chunk, p.chunks || undefined);
      },
    }).catch((error: unknown) => {
      // An interruption keeps the finished segments: say how to continue.
      if (signal.aborted && !argv.quiet)
        out.warn(
          `Interrupted; run the same command again to continue (work kept in ${path.basename(output)}.partial).`,
        );
      throw error;
    });
    progress.done();
    out.result(result, () =>
      [
        `Wrote ${result.output}`,
        `format:   ${result.format === 'gguf' ? 'GGUF' : 'legacy .dat'}, ${result.entries} entries`,
        `text:     ${result.dataset} (${result.chunks} chunks of ${result.contextSize} tokens)`,
        `time:     ${result.seconds.toFixed(1)} s${result.resumedFrom === undefined ? '' : ` (resumed after chunk ${result.resumedFrom})`}`,
      ].join('\n'),
    );
  }),
};
