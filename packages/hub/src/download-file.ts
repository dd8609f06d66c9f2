import fs from 'node:fs';
import path from 'node:path';
import { describeSystemError } from '@alki/errors';
import { pathsInfo, type PathInfo } from '@huggingface/hub';
import { withBlobLock } from './blob-lock.js';
import { resolveHubConfig, type HubConfig, type HubOptions } from './config.js';
import { HubError } from './errors.js';
import {
  blobPath,
  isCommitSha,
  linkSnapshotFile,
  repoCacheDir,
  snapshotFilePath,
  statSnapshotFile,
  writeRef,
} from './cache-layout.js';
import { assertSafeRelativePath, parseRepoId } from './repo-id.js';
import { cacheFallback, cachedCommit, fetchModelInfo, type HubFile } from './resolve-model.js';
import { transferBlob } from './transfer.js';
import { checkToken, Transport } from './transport.js';

/** A file in the Hugging Face cache. */
export interface CachedFile {
  repo: string;
  revision: string;
  commit: string;
  /** The path in the repo. */
  path: string;
  /** `snapshots/<commit>/<path>` in the cache: open this one. */
  localPath: string;
  size: number;
  /** The blob name: sha256 for LFS files, git blob id otherwise; undefined for a plain file in the snapshot. */
  etag?: string;
  /** The sha256 of the content, known for LFS files (checked while downloading). */
  sha256?: string;
  /** True when no content was downloaded for it. */
  fromCache: boolean;
  /** Set when the hub could not be reached and the cache answered instead: why. */
  offlineFallback?: string;
}

export interface DownloadOptions extends HubOptions {
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Bytes held so far and the total, as the download goes. */
  onProgress?: (bytes: number, total: number) => void;
}

const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A repo path as a URL path: each segment percent-encoded, the slashes kept. */
export function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/** The cached file of a snapshot, or undefined when the snapshot lacks it. */
export function fromSnapshot(
  repo: string,
  revision: string,
  commit: string,
  file: string,
  storage: string,
): CachedFile | undefined {
  const localPath = snapshotFilePath(storage, commit, file);
  const stat = statSnapshotFile(localPath);
  if (!stat) return undefined;
  const sha256 = stat.etag && /^[0-9a-f]{64}$/.test(stat.etag) ? stat.etag : undefined;
  return {
    repo,
    revision,
    commit,
    path: file,
    localPath,
    size: stat.size,
    etag: stat.etag,
    ...(sha256 ? { sha256 } : {}),
    fromCache: true,
  };
}

/**
 * Makes sure one file of a commit is in the cache: reuses the blob when it is
 * there, else downloads it (resuming a partial), then links the snapshot
 * entry and records the ref.
 */
export async function ensureCached(
  config: HubConfig,
  repo: string,
  revision: string,
  commit: string,
  file: HubFile,
  onProgress?: (bytes: number, total: number) => void,
): Promise<CachedFile> {
  try {
    return await cacheFile(config, repo, revision, commit, file, onProgress);
  } catch (error) {
    const system = describeSystemError(error);
    if (!system || system.category === 'network') throw error;
    throw new HubError(
      'CACHE_WRITE_FAILED',
      `Could not write ${file.path} of ${repo} into the Hugging Face cache: ${system.message}.`,
      {
        category: system.category,
        cause: error,
        hint: `Free space or fix ${config.cacheDir} (or point HF_HUB_CACHE elsewhere); a partial download resumes next time.`,
        details: { repo, path: file.path, cacheDir: config.cacheDir, systemCode: system.code },
      },
    );
  }
}

async function cacheFile(
  config: HubConfig,
  repo: string,
  revision: string,
  commit: string,
  file: HubFile,
  onProgress?: (bytes: number, total: number) => void,
): Promise<CachedFile> {
  assertSafeRelativePath(file.path, 'file');
  const storage = repoCacheDir(config.cacheDir, repo);
  const existing = fromSnapshot(repo, revision, commit, file.path, storage);
  // A snapshot entry counts when it is the same blob (or a plain file, as
  // huggingface_hub writes where symlinks fail, of the right size).
  if (existing && existing.size === file.size && (!existing.etag || existing.etag === file.etag)) {
    writeRef(storage, revision, commit);
    return existing;
  }
  if (!file.etag || !ETAG.test(file.etag)) {
    throw new HubError(
      'BAD_RESPONSE',
      `The hub gave ${file.path} of ${repo} an unusable id "${file.etag}".`,
      { details: { repo, path: file.path, etag: file.etag } },
    );
  }
  const etag = file.etag;
  const blob = blobPath(storage, etag);
  const haveBlob = () => fs.statSync(blob, { throwIfNoEntry: false })?.size === file.size;
  let fromCache = true;
  if (!haveBlob()) {
    fromCache = await withBlobLock(config.cacheDir, path.basename(storage), etag, config.signal, async () => {
      // Another process may have finished it while this one waited.
      if (haveBlob()) return true;
      await transferBlob({
        url: `${config.endpoint}/${repo}/resolve/${commit}/${encodePath(file.path)}`,
        blob,
        expected: { size: file.size, etag, ...(file.sha256 ? { sha256: file.sha256 } : {}) },
        fetch: config.fetch,
        token: config.token,
        ctx: { endpoint: config.endpoint, repo, revision, path: file.path, token: config.token },
        signal: config.signal,
        stallTimeoutMs: config.timeoutMs,
        onProgress,
      });
      return false;
    });
  }
  if (fromCache) onProgress?.(file.size, file.size);
  const localPath = linkSnapshotFile(storage, commit, file.path, etag);
  writeRef(storage, revision, commit);
  return {
    repo,
    revision,
    commit,
    path: file.path,
    localPath,
    size: file.size,
    etag: file.etag,
    ...(file.sha256 ? { sha256: file.sha256 } : {}),
    fromCache,
  };
}

/**
 * Downloads one file of a model repo into the huggingface_hub cache layout and
 * returns where it is. A file already cached for that commit costs no
 * request for content; a partial download resumes with a Range request; the
 * size and the sha256 (LFS) or git blob id are checked before the file
 * appears. Offline (`offline: true` or `HF_HUB_OFFLINE=1`) it answers from the
 * cache only.
 *
 * @example
 * const file = await downloadFile('Qwen/Qwen2.5-0.5B-Instruct-GGUF', 'qwen2.5-0.5b-instruct-q8_0.gguf', {
 *   onProgress: (bytes, total) => console.error(`${bytes}/${total}`),
 * });
 * console.log(file.localPath, file.sha256);
 */
export async function downloadFile(
  repoId: string,
  filePath: string,
  options: DownloadOptions = {},
): Promise<CachedFile> {
  const repo = parseRepoId(repoId);
  assertSafeRelativePath(filePath, 'file');
  const config = resolveHubConfig(options);
  const revision = options.revision ?? 'main';
  const storage = repoCacheDir(config.cacheDir, repo);
  const fromCache = () => {
    const cached = fromSnapshot(repo, revision, cachedCommit(storage, repo, revision), filePath, storage);
    if (!cached) {
      throw new HubError(
        'NOT_IN_CACHE',
        `Offline mode: ${filePath} of ${repo}@${revision} is not in the Hugging Face cache.`,
        {
          hint: 'Run once with network access to download it, or unset HF_HUB_OFFLINE.',
          details: { repo, revision, path: filePath, cacheDir: config.cacheDir },
        },
      );
    }
    return cached;
  };
  if (config.offline) return fromCache();
  // A commit names immutable content: when its file is cached, ask nothing.
  if (isCommitSha(revision)) {
    const cached = fromSnapshot(repo, revision, revision, filePath, storage);
    if (cached) return cached;
  }
  checkToken(config.token);
  const transport = new Transport(config, {
    endpoint: config.endpoint,
    repo,
    revision,
    path: filePath,
    token: config.token,
  });
  let commit: string;
  let info: PathInfo | undefined;
  try {
    commit = isCommitSha(revision)
      ? revision
      : (await fetchModelInfo(transport, config, repo, revision)).commit;
    [info] = await transport.call((fetch) =>
      pathsInfo({
        repo,
        paths: [filePath],
        revision: commit,
        fetch,
        accessToken: config.token,
        hubUrl: config.endpoint,
      }),
    );
  } catch (error) {
    const fallback = cacheFallback(error, fromCache);
    if (fallback) return { ...fallback.value, offlineFallback: fallback.reason };
    throw error;
  }
  if (!info || info.type !== 'file') {
    throw new HubError('FILE_NOT_FOUND', `${repo}@${revision} has no file "${filePath}".`, {
      hint: `List the repo's files at ${config.endpoint}/${repo}/tree/${revision}.`,
      details: { repo, revision, path: filePath },
    });
  }
  const file: HubFile = info.lfs
    ? { path: filePath, size: info.lfs.size, etag: info.lfs.oid, sha256: info.lfs.oid, lfs: true }
    : { path: filePath, size: info.size, etag: info.oid, lfs: false };
  return ensureCached(config, repo, revision, commit, file, options.onProgress);
}
