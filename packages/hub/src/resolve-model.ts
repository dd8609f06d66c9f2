import fs from 'node:fs';
import path from 'node:path';
import { listFiles, modelInfo } from '@huggingface/hub';
import { resolveHubConfig, type HubConfig, type HubOptions } from './config.js';
import { HubError } from './errors.js';
import {
  isCommitSha,
  listSnapshotFiles,
  readRef,
  repoCacheDir,
  snapshotDir,
  statSnapshotFile,
} from './cache-layout.js';
import { parseRepoId } from './repo-id.js';
import { classifyRepo, type RepoKind } from './select-file.js';
import { checkToken, Transport } from './transport.js';

/** One file of a resolved repo revision. */
export interface HubFile {
  /** The path in the repo, with `/`. */
  path: string;
  size: number;
  /** The blob name in the cache: the sha256 for LFS files, the git blob id otherwise. Unknown for plain files in an offline cache. */
  etag?: string;
  /** The content's sha256, known for LFS files. */
  sha256?: string;
  lfs: boolean;
}

/** A model repo at one commit. */
export interface ResolvedModel {
  repo: string;
  /** The revision asked for: a branch, a tag or a commit. */
  revision: string;
  /** The 40-hex commit the revision points to. */
  commit: string;
  /** The hub endpoint it came from. */
  endpoint: string;
  files: HubFile[];
  kind: RepoKind;
  /** False, 'auto' or 'manual' from the hub; undefined offline. */
  gated?: false | 'auto' | 'manual';
  private?: boolean;
  /** The model card's `license` field (an SPDX-like id such as `apache-2.0`, or `other`), when the hub reports one. */
  license?: string;
  /** The card's `license_name` and `license_link`, which name a custom license when `license` is `other`. */
  licenseName?: string;
  licenseLink?: string;
  /** When the revision was last changed on the hub (ISO 8601): a source time for reproducible output. Unknown offline. */
  lastModified?: string;
  /** The repo's owner, as the hub reports it. */
  author?: string;
  /** True when the answer came from the cache with no request. */
  fromCache: boolean;
  /** Set when the hub could not be reached and the cache answered instead: why. */
  offlineFallback?: string;
}

export interface ResolveOptions extends HubOptions {
  /** Branch, tag or commit; default `main`. */
  revision?: string;
}

interface ModelInfoExtras {
  sha?: string;
  cardData?: { license?: unknown; license_name?: unknown; license_link?: unknown };
  author?: string;
}

/**
 * Resolves `org/name` at a revision to a commit and lists its files (online
 * through @huggingface/hub, or offline from the cache's refs and snapshot).
 *
 * @example
 * const model = await resolveModel('Qwen/Qwen2.5-0.5B-Instruct-GGUF', { revision: 'main' });
 * console.log(model.commit, model.kind, model.files.map((f) => f.path));
 */
export async function resolveModel(repoId: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const repo = parseRepoId(repoId);
  const config = resolveHubConfig(options);
  const revision = options.revision ?? 'main';
  if (config.offline) return resolveFromCache(repo, revision, config);
  try {
    return await resolveOnline(repo, revision, config);
  } catch (error) {
    const fallback = cacheFallback(error, () => resolveFromCache(repo, revision, config));
    if (fallback) return { ...fallback.value, offlineFallback: fallback.reason };
    throw error;
  }
}

/**
 * When the hub is unreachable or failing (not when it refuses), answer from
 * the cache if it can, as huggingface_hub's hf_hub_download does after a
 * failed metadata request. Undefined when the cache cannot answer either.
 */
export function cacheFallback<T>(
  error: unknown,
  fromCache: () => T,
): { value: T; reason: string } | undefined {
  const unreachable =
    error instanceof HubError &&
    (error.code === 'NETWORK' || (error.code === 'BAD_RESPONSE' && Number(error.details.status) >= 500));
  if (!unreachable) return undefined;
  try {
    return { value: fromCache(), reason: error.message };
  } catch {
    return undefined;
  }
}

async function resolveOnline(repo: string, revision: string, config: HubConfig): Promise<ResolvedModel> {
  checkToken(config.token);
  const transport = new Transport(config, { endpoint: config.endpoint, repo, revision, token: config.token });
  const credentials = { accessToken: config.token, hubUrl: config.endpoint };
  const { commit, ...about } = await fetchModelInfo(transport, config, repo, revision);
  // Listing by commit, not by branch, so a push in between cannot mix two revisions.
  const files = await transport.call(async (fetch) => {
    const out: HubFile[] = [];
    for await (const entry of listFiles({ repo, revision: commit, recursive: true, fetch, ...credentials })) {
      if (entry.type !== 'file') continue;
      out.push(
        entry.lfs
          ? { path: entry.path, size: entry.lfs.size, etag: entry.lfs.oid, sha256: entry.lfs.oid, lfs: true }
          : { path: entry.path, size: entry.size, etag: entry.oid, lfs: false },
      );
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  });
  return {
    repo,
    revision,
    commit,
    endpoint: config.endpoint,
    files,
    kind: classifyRepo(files.map((f) => f.path)).kind,
    ...about,
    fromCache: false,
  };
}

/** Asks the hub which commit a revision is, with the card data and owner. */
export async function fetchModelInfo(
  transport: Transport,
  config: HubConfig,
  repo: string,
  revision: string,
): Promise<
  Pick<
    ResolvedModel,
    'commit' | 'gated' | 'private' | 'license' | 'licenseName' | 'licenseLink' | 'author' | 'lastModified'
  >
> {
  // A 404 here is about the repo or the revision, never a file.
  const info = await transport.call(
    (fetch) =>
      modelInfo({
        name: repo,
        revision,
        fetch,
        accessToken: config.token,
        hubUrl: config.endpoint,
        additionalFields: ['sha', 'cardData', 'author'],
      }),
    { path: undefined },
  );
  const extras = info as unknown as ModelInfoExtras;
  if (!extras.sha || !isCommitSha(extras.sha)) {
    throw new HubError('BAD_RESPONSE', `The hub did not say which commit ${repo}@${revision} is.`, {
      details: { repo, revision },
    });
  }
  const card = extras.cardData ?? {};
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const optional = {
    license: text(card.license),
    licenseName: text(card.license_name),
    licenseLink: text(card.license_link),
    author: text(extras.author),
    lastModified: Number.isNaN(info.updatedAt?.getTime()) ? undefined : info.updatedAt?.toISOString(),
  };
  return {
    commit: extras.sha,
    gated: info.gated,
    private: info.private,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

/** The commit a revision points to in the cache, or a NOT_IN_CACHE error. */
export function cachedCommit(storage: string, repo: string, revision: string): string {
  const commit = isCommitSha(revision) ? revision : readRef(storage, revision);
  if (!commit || !fs.existsSync(snapshotDir(storage, commit))) {
    throw new HubError(
      'NOT_IN_CACHE',
      `Offline mode: ${repo}@${revision} is not in the Hugging Face cache (${path.dirname(storage)}).`,
      {
        hint: 'Run once with network access to download it, or unset HF_HUB_OFFLINE.',
        details: { repo, revision, cacheDir: path.dirname(storage) },
      },
    );
  }
  return commit;
}

function resolveFromCache(repo: string, revision: string, config: HubConfig): ResolvedModel {
  const storage = repoCacheDir(config.cacheDir, repo);
  const commit = cachedCommit(storage, repo, revision);
  const dir = snapshotDir(storage, commit);
  const files: HubFile[] = [];
  for (const file of listSnapshotFiles(dir)) {
    const stat = statSnapshotFile(path.join(dir, file));
    // A link whose blob is gone is not a usable file.
    if (!stat) continue;
    const sha256 = stat.etag && /^[0-9a-f]{64}$/.test(stat.etag) ? stat.etag : undefined;
    files.push({
      path: file,
      size: stat.size,
      ...(stat.etag ? { etag: stat.etag } : {}),
      ...(sha256 ? { sha256 } : {}),
      lfs: Boolean(sha256),
    });
  }
  return {
    repo,
    revision,
    commit,
    endpoint: config.endpoint,
    files,
    kind: classifyRepo(files.map((f) => f.path)).kind,
    fromCache: true,
  };
}
