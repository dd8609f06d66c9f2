import { GgufError, openRegularFile } from '@alki/gguf-reader';
import { CliError } from './errors.js';

/**
 * `--ngl auto` or a whole number of layers, for every command that takes it.
 *
 * @example
 * parseGpuLayers('12'); // 12
 */
export function parseGpuLayers(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  const layers = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(layers))
    throw new CliError('USAGE', `--ngl must be auto or a whole number of layers; got ${value}.`, {
      details: { flag: '--ngl' },
    });
  return layers;
}

/**
 * Refuses a file a flag names (--imatrix, --tls-cert, --key, --policy, --text, --profile...) when it is
 * not a regular file: a FIFO would block the read in the kernel and hang the command, so the check opens
 * without blocking and looks at the opened descriptor. A file that cannot be opened at all (missing,
 * unreadable) is left to the command, whose own error names it. Undefined (flag not given) passes.
 *
 * @example
 * await refuseSpecialFile(argv.imatrix, '--imatrix');
 */
export async function refuseSpecialFile(file: string | undefined, flag: string): Promise<void> {
  if (file === undefined) return;
  try {
    await (await openRegularFile(file)).close();
  } catch (error) {
    // INVALID_INPUT: not a regular file, or an open that says so (ENXIO for a socket, ELOOP, EISDIR).
    if (!(error instanceof GgufError) || error.code !== 'INVALID_INPUT') return;
    throw new CliError('NOT_A_FILE', `${flag}: ${error.message}`, {
      hint: `Pass ${flag} a regular file.`,
      details: { flag, path: file },
    });
  }
}
