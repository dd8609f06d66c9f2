import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A temp path beside `destination`, so the final rename stays on one file system and is atomic. */
export function tempPathBeside(destination: string): string {
  return path.join(
    path.dirname(destination),
    `.${path.basename(destination)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** Writes a file through a temp file and a rename: readers see the old bytes or the new ones, never half. */
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
