import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '@alki/oci';
import { CalibrateError } from '../errors.js';

/**
 * Writes an output file (a profile, a report) with @alki/oci's atomic write,
 * so a reader never sees half of it; an existing file is replaced only with
 * `force`. `flag` names the option that chose the path, for the error.
 */
export async function writeOutputFile(
  file: string,
  text: string,
  force: boolean,
  flag: string,
): Promise<void> {
  if (!force && (await stat(file).catch(() => undefined))) {
    throw new CalibrateError('INVALID_OPTIONS', `${file} already exists.`, {
      hint: `Choose another ${flag} path, or pass --force to replace it.`,
      details: { file },
    });
  }
  await writeFileAtomic(file, text);
}
