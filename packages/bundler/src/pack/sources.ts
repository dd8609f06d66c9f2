import path from 'node:path';
import { resolveModelTarget } from '@alki/hub';
import { BundlerError } from '../errors.js';
import type { ResolvedSource, SourceContext } from './context.js';
import { packCheckpointFolder } from './source-checkpoint.js';
import { packLocalGguf } from './source-gguf.js';
import { packHubRepo } from './source-hub.js';

/**
 * Turns a source into local GGUF files: a .gguf is used as it is (or
 * quantized from F32/F16); a model folder is converted and quantized;
 * `org/name` comes from the hub (a GGUF picked with --filename, or a
 * safetensors checkpoint converted and quantized). What the source names is
 * decided by @alki/hub's resolveModelTarget, as for every other command.
 */
export async function resolveSource(source: string, context: SourceContext): Promise<ResolvedSource> {
  const target = await resolveModelTarget(source, { accept: ['file', 'directory', 'hub'] });
  if (target.kind === 'hub') return packHubRepo(target.repo, context);
  if (context.hub.filename !== undefined) {
    throw new BundlerError('INVALID_INPUT', '--filename only applies to a hub repo (org/name).');
  }
  if (context.mmproj !== undefined && context.mmproj !== false && target.kind === 'directory') {
    throw new BundlerError(
      'INVALID_INPUT',
      '--mmproj names a projector file for a .gguf source, or a glob for a hub repo.',
      {
        hint: 'A checkpoint folder has its projector converted with it; pass --no-mmproj to leave it out.',
      },
    );
  }
  const local = path.resolve(source);
  if (target.kind === 'file') return packLocalGguf(local, context);
  return packCheckpointFolder(local, context, {
    kind: 'local-hf',
    repo: path.basename(local),
    revision: null,
  });
}
