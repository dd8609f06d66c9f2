import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A temp path beside `destination`, so the final rename stays on one file
 * system and is atomic. Hidden, and marked `.partial`, so a crash leaves an
 * obvious leftover rather than a file that looks finished.
 */
export function tempPathBeside(destination: string): string {
  return path.join(
    path.dirname(destination),
    `.${path.basename(destination)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`,
  );
}

/**
 * Writes a file through a temp file and a rename: readers see the old bytes
 * or the new ones, never half.
 *
 * @example
 * await writeFileAtomic('./layout/index.json', JSON.stringify(index));
 */
export async function writeFileAtomic(destination: string, data: Buffer | string): Promise<void> {
  const temp = tempPathBeside(destination);
  try {
    await fs.promises.writeFile(temp, data);
    await fs.promises.rename(temp, destination);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

/**
 * Moves a finished directory (or file) `source` to `destination`, replacing
 * what is there. The old one is first renamed aside; if the second rename
 * fails it is renamed back, so `destination` is never left missing or half
 * replaced. It is deleted only once the new one is in place.
 *
 * @example
 * await replaceDirectory('./out.partial', './out');
 */
export async function replaceDirectory(source: string, destination: string): Promise<void> {
  const existing = await fs.promises.lstat(destination).catch(() => undefined);
  if (!existing) return fs.promises.rename(source, destination);
  const old = tempPathBeside(destination);
  // Back to back, with no turn of the event loop between: the moment with no
  // destination lasts two system calls.
  fs.renameSync(destination, old);
  try {
    fs.renameSync(source, destination);
  } catch (error) {
    fs.renameSync(old, destination);
    throw error;
  }
  await fs.promises.rm(old, { recursive: true, force: true });
}
