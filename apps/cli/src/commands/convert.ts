import { convert, ConverterError, OUT_TYPES, type OutType } from '@alki/converter';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';

interface ConvertArgs extends GlobalOptions {
  input: string;
  output: string;
  outtype: string;
  name?: string;
  license?: string;
  force: boolean;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export const convertCommand: AlkiCommand = {
  command: 'convert <input>',
  describe: 'Convert a Hugging Face safetensors model (folder or HF cache entry) to GGUF',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('input', { type: 'string', demandOption: true, describe: 'Model folder with config.json and *.safetensors, or an HF cache entry (models--org--name)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'GGUF to write (a temp file beside it is renamed when complete)' })
      .option('outtype', { type: 'string', default: 'f16', describe: `Tensor type: ${OUT_TYPES.join(', ')} (norms and 1-D tensors stay F32)` })
      .option('name', { type: 'string', describe: 'general.name (default: the repository or folder name)' })
      .option('license', { type: 'string', describe: "general.license (default: the model card's license)" })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .example('$0 convert ./TinyLlama-1.1B-Chat -o tinyllama-f16.gguf', 'Convert to F16')
      .example('$0 convert ~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B --outtype q8_0 -o qwen3-q8_0.gguf', 'Convert a cached download to Q8_0'),
  handler: withContext<ConvertArgs>(async (argv, { out, signal }) => {
    const outtype = argv.outtype.toLowerCase();
    if (!(OUT_TYPES as readonly string[]).includes(outtype)) {
      throw new ConverterError('UNSUPPORTED_OUTTYPE', `--outtype ${argv.outtype} is not one of ${OUT_TYPES.join(', ')}.`, 'usage', {
        hint: 'For k-quant mixes, convert to f16 and run `alki quantize`.',
      });
    }
    out.info(`Converting ${argv.input} to ${outtype.toUpperCase()}...`);
    const progress = out.progress('convert', undefined);
    const result = await convert({
      input: argv.input,
      output: argv.output,
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
    out.result(result, () =>
      [
        `Wrote ${result.output}`,
        `architecture: ${result.architecture} -> ${result.ggufArchitecture}`,
        `outtype:      ${result.outtype}, ${result.tensorCount} tensors, ${result.parameterCount.toLocaleString('en-US')} parameters, ${mib(result.bytes)}`,
        `tokenizer:    ${result.tokenizer.model}${result.tokenizer.pre ? ` (pre-tokenizer ${result.tokenizer.pre})` : ''}, chat template ${result.chatTemplate ? 'kept' : 'absent'}`,
      ].join('\n'),
    );
  }),
};
