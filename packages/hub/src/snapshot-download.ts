import { resolveHubConfig } from './config.js';
import { HubError } from './errors.js';
import { repoCacheDir, snapshotDir } from './cache-layout.js';
import { ensureCached, fromSnapshot, type CachedFile, type DownloadOptions } from './download-file.js';
import { parseRepoId } from './repo-id.js';
import { resolveModel } from './resolve-model.js';
import { globToRegExp } from './select-file.js';

export interface SnapshotOptions extends DownloadOptions {
  /** Only files matching one of these globs (fnmatch, as huggingface_hub's allow_patterns). Default: every file. */
  include?: string[];
}

/** A downloaded revision: its snapshot folder and the files in it. */
export interface Snapshot {
  repo: string;
  revision: string;
  commit: string;
  /** `snapshots/<commit>` in the cache, laid out as the repo. */
  dir: string;
  files: CachedFile[];
  /** Set when the hub could not be reached and the cache answered instead: why. */
  offlineFallback?: string;
}

/**
 * Downloads a model repo revision (or the files matching `include`) into the
 * cache and returns its snapshot folder, for example a safetensors checkpoint
 * with its config and tokenizer. `onProgress` counts bytes over all files.
 *
 * @example
 * const snapshot = await snapshotDownload('HuggingFaceTB/SmolLM2-135M', {
 *   include: ['*.json', '*.safetensors', 'tokenizer.model'],
 * });
 * console.log(snapshot.dir);
 */
export async function snapshotDownload(repoId: string, options: SnapshotOptions = {}): Promise<Snapshot> {
  const repo = parseRepoId(repoId);
  const config = resolveHubConfig(options);
  const revision = options.revision ?? 'main';
  const patterns = (options.include ?? ['*']).map(globToRegExp);
  const wanted = (file: string) => patterns.some((pattern) => pattern.test(file));
  const noMatch = (available: string[]) =>
    new HubError(
      'NO_MATCH',
      `No file in ${repo}@${revision} matches ${options.include?.map((g) => `"${g}"`).join(', ')}.`,
      {
        hint: `Its files are: ${available.slice(0, 20).join(', ')}${available.length > 20 ? ', ...' : ''}.`,
        details: { repo, revision, include: options.include, candidates: available },
      },
    );

  const model = await resolveModel(repo, { ...options, revision });
  const files = model.files.filter((f) => wanted(f.path));
  if (!files.length) throw noMatch(model.files.map((f) => f.path));
  const storage = repoCacheDir(config.cacheDir, repo);
  const dir = snapshotDir(storage, model.commit);
  if (model.fromCache) {
    // Offline, or the hub was unreachable: the snapshot as the cache holds it.
    const cached = files.flatMap((f) => fromSnapshot(repo, revision, model.commit, f.path, storage) ?? []);
    return {
      repo,
      revision,
      commit: model.commit,
      dir,
      files: cached,
      ...(model.offlineFallback ? { offlineFallback: model.offlineFallback } : {}),
    };
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let done = 0;
  const out: CachedFile[] = [];
  for (const file of files) {
    const before = done;
    out.push(
      await ensureCached(config, repo, revision, model.commit, file, (bytes) =>
        options.onProgress?.(before + bytes, total),
      ),
    );
    done += file.size;
  }
  return { repo, revision, commit: model.commit, dir, files: out };
}
