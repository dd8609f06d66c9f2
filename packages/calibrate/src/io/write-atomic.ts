import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CalibrateError } from '../errors.js';

/**
 * Writes a file through a temp file beside it and a rename, so a reader
 * never sees half of it; an existing file is replaced only with `force`.
 * `flag` names the option that chose the path, for the error.
 */
export async function writeFileAtomic(
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
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
