import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import type { ResolvedSource, SourceContext } from './context.js';
import { packCheckpointFolder } from './source-checkpoint.js';
import { packLocalGguf } from './source-gguf.js';
import { packHubRepo } from './source-hub.js';

/** `org/name` as the hub spells repo ids. */
const HUB_REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Turns a source into local GGUF files: a .gguf is used as it is (or
 * quantized from F32/F16); a model folder is converted and quantized;
 * `org/name` comes from the hub (a GGUF picked with --filename, or a
 * safetensors checkpoint converted and quantized).
 */
export async function resolveSource(source: string, context: SourceContext): Promise<ResolvedSource> {
  let info;
  try {
    info = await stat(source);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (context.hub.filename !== undefined && info) {
    throw new BundlerError('INVALID_INPUT', '--filename only applies to a hub repo (org/name).');
  }
  if (
    context.mmproj !== undefined &&
    context.mmproj !== false &&
    !info?.isFile() &&
    !HUB_REPO_ID.test(source)
  ) {
    throw new BundlerError(
      'INVALID_INPUT',
      '--mmproj names a projector file for a .gguf source, or a glob for a hub repo.',
      {
        hint: 'A checkpoint folder has its projector converted with it; pass --no-mmproj to leave it out.',
      },
    );
  }
  if (info?.isFile()) return packLocalGguf(path.resolve(source), context);
  if (info?.isDirectory()) {
    return packCheckpointFolder(path.resolve(source), context, {
      kind: 'local-hf',
      repo: path.basename(path.resolve(source)),
      revision: null,
    });
  }
  // `dir/model.gguf` has the shape of a repo id, but no hub repo ends in
  // .gguf: it is a local file that is not there (as `alki inspect` decides).
  if (/\.gguf$/i.test(source)) {
    throw new BundlerError('SOURCE_NOT_FOUND', `${source} does not exist.`, {
      hint: 'Check the path of the .gguf file to pack.',
      details: { source },
    });
  }
  if (HUB_REPO_ID.test(source)) return packHubRepo(source, context);
  throw new BundlerError(
    'SOURCE_NOT_FOUND',
    `${source} is neither a local file or folder nor a hub repo id (org/name).`,
    {
      hint: 'Pass a path to a .gguf file or a model folder, or a repo id such as Qwen/Qwen3-0.6B-GGUF.',
      details: { source },
    },
  );
}
