import { randomBytes } from 'node:crypto';
import { link, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface WriteFileOptions {
  /** File mode; 0o600 for private keys. */
  mode?: number;
  /** Replace an existing file; without it an existing file stays and EEXIST is thrown. */
  replace?: boolean;
}

/**
 * Writes through a temp file beside the destination: readers see the old
 * bytes or the new ones, never half. Without `replace`, the temp file is
 * hard-linked into place, which fails if something is already there, so a
 * key written at the same moment by another process is never clobbered.
 */
export async function writeFileSafely(
  destination: string,
  data: string | Uint8Array,
  options: WriteFileOptions = {},
): Promise<void> {
  const temp = path.join(
    path.dirname(destination),
    `.${path.basename(destination)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    await writeFile(temp, data, { mode: options.mode ?? 0o644, flag: 'wx' });
    if (options.replace) await rename(temp, destination);
    else await link(temp, destination);
  } finally {
    await rm(temp, { force: true });
  }
}
