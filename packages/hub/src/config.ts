import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The default hub, as in huggingface_hub's `constants.ENDPOINT`. */
export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Options every @alki/hub call takes; anything left out comes from the environment. */
export interface HubOptions {
  /** A user access token (`hf_...`). Defaults to `HF_TOKEN`, then the token file in HF_HOME. */
  token?: string;
  /** The hub's base URL. Defaults to `HF_ENDPOINT`, then https://huggingface.co. */
  endpoint?: string;
  /** The hub cache (`models--org--name/...`). Defaults to `HF_HUB_CACHE`, then `$HF_HOME/hub`. */
  cacheDir?: string;
  /** Never touch the network; answer from the cache. Defaults to `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Injected fetch, for proxies and tests. */
  fetch?: typeof fetch;
  /** The environment to read defaults from (defaults to `process.env`). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /**
   * How long a request may wait for the hub's answer, or a download for its
   * next bytes, before it counts as dropped (and a download resumes).
   * Defaults to `HF_HUB_DOWNLOAD_TIMEOUT` seconds, else 10 s, as huggingface_hub.
   */
  timeoutMs?: number;
}

/** HubOptions with every default filled in. */
export interface HubConfig {
  token: string | undefined;
  endpoint: string;
  cacheDir: string;
  offline: boolean;
  fetch: typeof fetch;
  signal: AbortSignal | undefined;
  timeoutMs: number;
}

// huggingface_hub constants.DEFAULT_DOWNLOAD_TIMEOUT.
const DEFAULT_TIMEOUT_SECONDS = 10;

function timeoutFrom(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.HF_HUB_DOWNLOAD_TIMEOUT);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TIMEOUT_SECONDS) * 1000;
}

// huggingface_hub's constants._is_true: these spellings, any case, mean yes.
function isTrue(value: string | undefined): boolean {
  return ['1', 'on', 'yes', 'true'].includes((value ?? '').trim().toLowerCase());
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (huggingface_hub constants.py). */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return expandHome(env.HF_HOME);
  return path.join(
    env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache'),
    'huggingface',
  );
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * The hub cache directory that huggingface_hub uses with this environment:
 * `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`.
 *
 * @example
 * hubCacheDir({ HF_HOME: '/data/hf' }); // '/data/hf/hub'
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return explicit ? expandHome(explicit) : path.join(hfHome(env), 'hub');
}

/** Where a hub token comes from, never its value: an environment variable, or a token file. */
export type TokenSource = { variable: 'HF_TOKEN' | 'HUGGING_FACE_HUB_TOKEN' } | { file: string };

/**
 * The token huggingface_hub would use and where it comes from: `HF_TOKEN`,
 * else the legacy `HUGGING_FACE_HUB_TOKEN`, else the file at `HF_TOKEN_PATH`
 * or `$HF_HOME/token` (written by `huggingface-cli login`). Undefined when
 * there is none.
 *
 * @example
 * const found = findTokenSource();
 * if (found) console.log('token from', 'file' in found.source ? found.source.file : found.source.variable);
 */
export function findTokenSource(
  env: NodeJS.ProcessEnv = process.env,
): { token: string; source: TokenSource } | undefined {
  for (const variable of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'] as const) {
    const token = (env[variable] ?? '').trim();
    if (token) return { token, source: { variable } };
  }
  const file = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : path.join(hfHome(env), 'token');
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return token ? { token, source: { file } } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token huggingface_hub would use (see `findTokenSource`), or undefined.
 *
 * @example
 * const token = findToken();
 */
export function findToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findTokenSource(env)?.token;
}

/** Fills every option from the environment the way huggingface_hub does. */
export function resolveHubConfig(options: HubOptions = {}): HubConfig {
  const env = options.env ?? process.env;
  return {
    token: options.token?.trim() || findToken(env),
    endpoint: (options.endpoint || env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: options.cacheDir ?? hubCacheDir(env),
    offline: options.offline ?? isTrue(env.HF_HUB_OFFLINE),
    fetch: options.fetch ?? globalThis.fetch,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? timeoutFrom(env),
  };
}
