import {
  downloadFile,
  isProjectorFile,
  resolveModel,
  selectFile,
  selectProjector,
  snapshotDownload,
  type HubOptions,
  type ResolvedModel,
} from '@alki/hub';
import { readFile, stat } from 'node:fs/promises';
import { BundlerError } from '../errors.js';
import type { ResolvedSource, SourceContext } from './context.js';
import { packCheckpointFolder } from './source-checkpoint.js';
import { packLocalGguf } from './source-gguf.js';

/** What a safetensors checkpoint needs from its repo: weights, config and tokenizer files, and the license. */
const CHECKPOINT_FILES = [
  '*.safetensors',
  '*.json',
  'tokenizer.model',
  'LICENSE',
  'LICENSE.txt',
  'LICENSE.md',
  'LICENCE',
];
const LICENSE_NAMES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE'];
/** A license file larger than this is not a license text. */
const MAX_LICENSE_BYTES = 1024 * 1024;

function hubOptions(context: SourceContext): HubOptions {
  const { hub } = context;
  return {
    ...(hub.token !== undefined ? { token: hub.token } : {}),
    ...(hub.hubUrl !== undefined ? { endpoint: hub.hubUrl } : {}),
    ...(hub.env !== undefined ? { env: hub.env } : {}),
    signal: context.signal,
  };
}

// The repo's license text, when it has a small LICENSE file.
async function hubLicenseText(model: ResolvedModel, context: SourceContext): Promise<string | undefined> {
  const file = model.files.find((f) => LICENSE_NAMES.includes(f.path) && f.size <= MAX_LICENSE_BYTES);
  if (!file) return undefined;
  const cached = await downloadFile(model.repo, file.path, {
    ...hubOptions(context),
    revision: model.commit,
  });
  return readFile(cached.localPath, 'utf8');
}

// The revision's date from the hub makes a bundle's file times the same on
// every machine; the cached files' mtimes (the download time) are the
// fallback when the hub gave no date, as in offline use.
function revisionTime(model: ResolvedModel): Date | undefined {
  return model.lastModified ? new Date(model.lastModified) : undefined;
}

/**
 * `org/name` on the hub: a GGUF repo gives the one file --filename picks
 * (downloaded into the huggingface_hub cache, resumable and checked); a
 * safetensors repo is downloaded as a snapshot and converted.
 */
export async function packHubRepo(repoId: string, context: SourceContext): Promise<ResolvedSource> {
  const options = hubOptions(context);
  context.progress({
    phase: 'resolve',
    message: `Resolving ${repoId}${context.hub.revision ? ` at ${context.hub.revision}` : ''}`,
  });
  const model = await resolveModel(repoId, { ...options, revision: context.hub.revision });
  const notes = model.offlineFallback
    ? [`The hub could not be reached (${model.offlineFallback}); used the cached copy.`]
    : [];
  const origin = {
    kind: 'hub' as const,
    repo: model.repo,
    revision: model.commit,
    hubUrl: model.endpoint,
    license: model.license,
    modelName: model.repo.slice(model.repo.indexOf('/') + 1),
  };
  const paths = model.files.map((f) => f.path);

  if (model.kind === 'gguf' || context.hub.filename !== undefined) {
    // A vision projector is packed beside the model, never as it.
    const file = selectFile(
      paths.filter((p) => !isProjectorFile(p)),
      context.hub.filename ?? '*.gguf',
      model.repo,
    );
    const mmproj = context.mmproj;
    const projectorFile = mmproj === false ? undefined : selectProjector(paths, file, mmproj, model.repo);
    // Download by the revision's name, as huggingface_hub does, so the cache
    // records refs/<name> and a later offline pack finds it by that name.
    const download = async (name: string) => {
      context.progress({ phase: 'download', message: `Downloading ${model.repo}/${name}` });
      return downloadFile(model.repo, name, {
        ...options,
        revision: model.revision,
        onProgress: (done, total) => context.progress({ phase: 'download', file: name, done, total }),
      });
    };
    const cached = await download(file);
    const projector = projectorFile ? await download(projectorFile) : undefined;
    const resolved = await packLocalGguf(cached.localPath, context, {
      source: {
        kind: 'hub',
        repo: model.repo,
        revision: cached.commit,
        files: [file, ...(projectorFile ? [projectorFile] : [])],
      },
      ...(projector ? { projector: projector.localPath } : {}),
      hubUrl: model.endpoint,
      license: model.license,
      licenseText: await hubLicenseText(model, context),
      time: revisionTime(model) ?? (await stat(cached.localPath)).mtime,
      defaultName: file.replace(/^.*\//, '').replace(/\.gguf$/i, ''),
    });
    return { ...resolved, notes: [...notes, ...resolved.notes] };
  }
  if (model.kind === 'safetensors') {
    context.progress({ phase: 'download', message: `Downloading the ${model.repo} checkpoint` });
    const snapshot = await snapshotDownload(model.repo, {
      ...options,
      revision: model.revision,
      include: CHECKPOINT_FILES,
      onProgress: (done, total) => context.progress({ phase: 'download', file: model.repo, done, total }),
    });
    const times = await Promise.all(snapshot.files.map(async (f) => (await stat(f.localPath)).mtimeMs));
    const time = revisionTime(model) ?? new Date(Math.max(0, ...times));
    const resolved = await packCheckpointFolder(snapshot.dir, context, {
      ...origin,
      revision: snapshot.commit,
      time,
    });
    return { ...resolved, notes: [...notes, ...resolved.notes] };
  }
  throw new BundlerError(
    'SOURCE_UNSUPPORTED',
    model.kind === 'pickle'
      ? `${model.repo} has only PyTorch pickle weights (.bin/.pt); Alki converts safetensors only, since loading a pickle can run code.`
      : `${model.repo} has no model weights Alki can pack (no .gguf and no .safetensors files).`,
    {
      hint: 'Pick a repo with GGUF or safetensors files (many models have a -GGUF twin).',
      details: { repo: model.repo, kind: model.kind },
    },
  );
}
