import { resolveHubConfig, type HubOptions } from './config.js';
import { downloadFile, encodePath } from './download-file.js';
import { resolveModel } from './resolve-model.js';
import { selectGguf } from './select-file.js';

/** Where a GGUF can be read from without downloading it, for @alki/gguf-reader's `openGgufModel`. */
export interface HubGgufLocation {
  /** The file's resolve URL (read by range requests), or its path in the cache when offline. */
  location: string;
  /** Headers for the URL: the hub token, when there is one. */
  headers: Record<string, string>;
  repo: string;
  /** The 40-hex commit the revision resolved to. */
  commit: string;
  /** The GGUF picked, relative to the repo (the first shard of a split model). */
  file: string;
}

export interface HubGgufOptions extends HubOptions {
  /** A glob that picks one GGUF model (`*Q4_K_M.gguf`); default `*.gguf`, which must match one model. */
  filename?: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
}

/**
 * Where to read a hub repo's GGUF without downloading it: the one model `filename` picks
 * (selectGguf), at `<endpoint>/<repo>/resolve/<commit>/<file>` with the token, or, offline
 * (`HF_HUB_OFFLINE`), in the Hugging Face cache, where a split model's shards sit side by side.
 *
 * @example
 * const where = await hubGgufLocation('Qwen/Qwen3-0.6B-GGUF', { filename: '*Q8_0.gguf' });
 * const model = await openGgufModel(where.location, { headers: where.headers });
 */
export async function hubGgufLocation(
  repoId: string,
  options: HubGgufOptions = {},
): Promise<HubGgufLocation> {
  const resolved = await resolveModel(repoId, options);
  const { file } = selectGguf(
    resolved.files.map((f) => f.path),
    options.filename,
    resolved.repo,
  );
  const where = { repo: resolved.repo, commit: resolved.commit, file };
  if (resolved.fromCache) {
    const cached = await downloadFile(resolved.repo, file, {
      ...options,
      revision: resolved.commit,
      offline: true,
    });
    return { ...where, location: cached.localPath, headers: {} };
  }
  return {
    ...where,
    location: `${resolved.endpoint}/${resolved.repo}/resolve/${resolved.commit}/${encodePath(file)}`,
    headers: hubAuthHeaders(resolved.endpoint, options),
  };
}

/**
 * The headers that authenticate a request to `url`: the hub token, and only when the URL is on the
 * hub's own host, so that a model URL elsewhere never receives the user's credentials.
 *
 * @example
 * await openGgufModel(url, { headers: hubAuthHeaders(url) });
 */
export function hubAuthHeaders(url: string, options: HubOptions = {}): Record<string, string> {
  const config = resolveHubConfig(options);
  const onHub = new URL(url).host === new URL(config.endpoint).host;
  return onHub && config.token ? { authorization: `Bearer ${config.token}` } : {};
}
