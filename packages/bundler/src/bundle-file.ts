import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from './errors.js';

/**
 * The path of a file a bundle lists (a manifest artifact or file entry), once it is known to be a
 * regular file of the bundle itself: not a symbolic link (even to a file inside), not a directory,
 * FIFO, socket or device, and not reached through a linked folder. Every command that reads a
 * bundle's files goes through this one check, so none follows what `alki verify` refuses.
 *
 * @example
 * const bundle = await readBundle('./dist/tiny');
 * const model = await bundleFile(bundle.dir, artifactPath(bundle.runtime.model));
 */
export async function bundleFile(dir: string, relative: string): Promise<string> {
  const file = path.join(dir, relative);
  let info;
  try {
    info = await lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    throw new BundlerError('FILE_MISSING', `${relative} is missing from the bundle ${dir}.`, {
      hint: 'Pull or pack the bundle again; `alki verify` lists everything that is missing.',
      details: { dir, file: relative },
      cause: error,
    });
  }
  if (info.isSymbolicLink()) {
    throw new BundlerError(
      'PATH_ESCAPE',
      `${relative} is a symbolic link; a bundle's files must be its own, so Alki does not follow it.`,
      {
        hint: 'Repack the bundle with `alki pack`; this one may have been tampered with.',
        details: { dir, file: relative },
      },
    );
  }
  if (!info.isFile()) {
    throw new BundlerError(
      'PATH_ESCAPE',
      `${relative} is not a regular file (a directory, pipe, socket or device stands in its place).`,
      { hint: 'Repack the bundle with `alki pack`.', details: { dir, file: relative } },
    );
  }
  // A folder on the way may itself be a link out of the bundle (models -> /elsewhere).
  const root = await realpath(dir);
  if (!(await realpath(file)).startsWith(root + path.sep)) {
    throw new BundlerError('PATH_ESCAPE', `${relative} lies outside the bundle, through a linked folder.`, {
      hint: 'Repack the bundle with `alki pack`; this one may have been tampered with.',
      details: { dir, file: relative },
    });
  }
  return file;
}
