import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RuntimeError } from '../errors.js';

/** Who may call the server: the API keys it takes, and which probes stay open without one. */
export interface AccessPolicy {
  /** Keys a client may send, any one of them; none means no key is needed. */
  apiKeys: readonly string[];
  /**
   * /health answers without a key. Default true: systemd, Kubernetes and
   * load balancer probes send none, and it tells nothing but "up".
   */
  openHealth?: boolean;
  /**
   * /metrics answers without a key. Default false: it reveals traffic and
   * the model; Prometheus sends a key with `authorization.credentials_file`.
   */
  openMetrics?: boolean;
  /** Paths under the rule of /metrics: the dashboard's page and data, which show the same figures. */
  dashboardPaths?: readonly string[];
}

/** Where the keys come from: flags, files of one key a line, an environment variable. */
export interface ApiKeySources {
  /** Keys given as values (`--api-key`). A comma separates several, as in llama-server's --api-key. */
  keys?: readonly string[];
  /** Files of keys, one a line; blank lines and lines starting with `#` are skipped. */
  files?: readonly string[];
  /** The value of an environment variable: keys separated by commas. */
  env?: string;
  readFileText?: (path: string) => Promise<string>;
}

// A key travels in an HTTP header, so it must be printable ASCII without
// spaces (RFC 9110 token68 is stricter; this refuses only what cannot work).
const KEY_PATTERN = /^[\x21-\x7e]+$/;

function splitKeys(value: string): string[] {
  return value
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
}

// Errors name where a bad key is (source, line), never the key itself.
function checkKey(key: string, where: string): string {
  if (!KEY_PATTERN.test(key)) {
    throw new RuntimeError(
      'INVALID_INPUT',
      `The API key in ${where} has spaces or characters that cannot be sent in an HTTP header.`,
      { hint: 'Use printable ASCII without spaces, e.g. `openssl rand -hex 32`.' },
    );
  }
  return key;
}

/**
 * Collects the API keys of all sources, in order and without duplicates.
 * An unreadable file is an INVALID_INPUT error naming the file; a malformed
 * key is one naming its source and line. No message contains a key.
 *
 * @example
 * const keys = await loadApiKeys({ files: ['/run/credentials/alki.service/api-key'], env: process.env.ALKI_API_KEY });
 */
export async function loadApiKeys(sources: ApiKeySources): Promise<string[]> {
  const read = sources.readFileText ?? ((path: string) => readFile(path, 'utf8'));
  const keys: string[] = [];
  for (const value of sources.keys ?? []) keys.push(...splitKeys(value).map((k) => checkKey(k, '--api-key')));
  for (const file of sources.files ?? []) {
    let text: string;
    try {
      text = await read(file);
    } catch (error) {
      throw new RuntimeError(
        'INVALID_INPUT',
        `The API key file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
        { category: 'input', cause: error, details: { path: file } },
      );
    }
    text.split('\n').forEach((line, index) => {
      const key = line.trim();
      if (key && !key.startsWith('#')) keys.push(checkKey(key, `${file} line ${index + 1}`));
    });
  }
  if (sources.env) keys.push(...splitKeys(sources.env).map((k) => checkKey(k, 'the environment')));
  return [...new Set(keys)];
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check of the key a request presents, as `Authorization: Bearer <key>`
 * (the OpenAI clients) or `X-Api-Key: <key>` (as llama-server also takes).
 * Each key is compared through its SHA-256 digest with timingSafeEqual, and
 * every key is compared on every call, so the time taken says nothing about
 * a key's length, its bytes, or which key matched.
 */
export function createKeyCheck(
  keys: readonly string[],
): (headers: { authorization?: string; 'x-api-key'?: string | string[] }) => boolean {
  const digests = keys.map(digest);
  return (headers) => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    const header = headers['x-api-key'];
    const presented = bearer ?? (typeof header === 'string' ? header.trim() : undefined);
    if (!presented) return false;
    const candidate = digest(presented);
    let match = false;
    for (const known of digests) match = timingSafeEqual(candidate, known) || match;
    return match;
  };
}

/** True when a request to `path` needs a key under the policy. */
export function pathNeedsKey(policy: AccessPolicy, path: string): boolean {
  if (policy.apiKeys.length === 0) return false;
  if (path === '/health') return !(policy.openHealth ?? true);
  if (path === '/metrics' || policy.dashboardPaths?.includes(path)) return !(policy.openMetrics ?? false);
  return true;
}
