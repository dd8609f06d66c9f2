import path from 'node:path';
import { resolveHubConfig } from './config.js';
import { HubError } from './errors.js';
import { listSnapshotFiles, repoCacheDir, snapshotDir } from './cache-layout.js';
import { ensureCached, type CachedFile, type DownloadOptions } from './download-file.js';
import { parseRepoId } from './repo-id.js';
import { cachedCommit, resolveModel } from './resolve-model.js';
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
    new HubError('NO_MATCH', `No file in ${repo}@${revision} matches ${options.include?.map((g) => `"${g}"`).join(', ')}.`, {
      hint: `Its files are: ${available.slice(0, 20).join(', ')}${available.length > 20 ? ', ...' : ''}.`,
      details: { repo, revision, include: options.include, candidates: available },
    });

  if (config.offline) {
    const storage = repoCacheDir(config.cacheDir, repo);
    const commit = cachedCommit(storage, repo, revision);
    const model = await resolveModel(repo, { ...options, revision: commit, offline: true });
    const files = model.files.filter((f) => wanted(f.path));
    if (!files.length) throw noMatch(listSnapshotFiles(snapshotDir(storage, commit)));
    const cached = files.map((f) => ({
      repo,
      revision,
      commit,
      path: f.path,
      localPath: path.join(snapshotDir(storage, commit), ...f.path.split('/')),
      size: f.size,
      ...(f.etag ? { etag: f.etag } : {}),
      ...(f.sha256 ? { sha256: f.sha256 } : {}),
      fromCache: true,
    }));
    return { repo, revision, commit, dir: snapshotDir(storage, commit), files: cached };
  }

  const model = await resolveModel(repo, { ...options, revision });
  const files = model.files.filter((f) => wanted(f.path));
  if (!files.length) throw noMatch(model.files.map((f) => f.path));
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let done = 0;
  const out: CachedFile[] = [];
  for (const file of files) {
    const before = done;
    out.push(await ensureCached(config, repo, revision, model.commit, file, (bytes) => options.onProgress?.(before + bytes, total)));
    done += file.size;
  }
  return { repo, revision, commit: model.commit, dir: snapshotDir(repoCacheDir(config.cacheDir, repo), model.commit), files: out };
}
