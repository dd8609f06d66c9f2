import { hashFile, isContainedPath, type BundleSource } from '@alki/bundler';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { SignerError } from '../errors.js';

/**
 * The SHA-256 of a bundle's source files, read from a local copy: the GGUF
 * file itself, or the folder (a checkpoint, or a hub snapshot) that holds
 * the files the manifest names. Files that are not there are left out;
 * provenance then names them without a digest.
 *
 * @example
 * const digests = await hashSourceFiles(manifest.source, './TinyLlama-1.1B-Chat');
 */
export async function hashSourceFiles(
  source: BundleSource,
  localPath: string,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  let info;
  try {
    info = await stat(localPath);
  } catch {
    throw new SignerError('INVALID_INPUT', `The source ${localPath} does not exist.`, {
      hint: 'Pass the GGUF file or the model folder the bundle was packed from.',
      details: { path: localPath },
    });
  }
  const digests: Record<string, string> = {};
  if (info.isFile()) {
    if (source.files.length !== 1) {
      throw new SignerError(
        'INVALID_INPUT',
        `The bundle was packed from ${source.files.length} files; ${localPath} is one file.`,
        {
          hint: 'Pass the folder that holds them.',
        },
      );
    }
    digests[source.files[0]] = (await hashFile(localPath, { signal })).sha256;
    return digests;
  }
  for (const file of source.files) {
    if (!isContainedPath(file)) continue;
    const absolute = path.join(localPath, ...file.split('/'));
    try {
      digests[file] = (await hashFile(absolute, { signal })).sha256;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return digests;
}
