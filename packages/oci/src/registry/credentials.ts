import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OciError } from '../errors.js';
import { spawnHelper, type HelperRunner } from './credential-helper.js';

/** What a registry or token server accepts: a user and password, or an OAuth2 refresh token. */
export type Credentials = { username: string; password: string } | { identityToken: string };

export interface CredentialLookupOptions {
  /** Explicit credentials (from flags) win over everything else. */
  explicit?: Credentials;
  /**
   * The environment to read ALKI_REGISTRY_USERNAME/PASSWORD/TOKEN,
   * ALKI_CREDENTIAL_HELPER_TIMEOUT and DOCKER_CONFIG from, and to run helpers
   * in (PATH). Default process.env.
   */
  env?: NodeJS.ProcessEnv;
  /** The Docker config file. Default $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  dockerConfigPath?: string;
  runHelper?: HelperRunner;
  /** How long a credential helper may take. Default ALKI_CREDENTIAL_HELPER_TIMEOUT (seconds), else 30 s. */
  helperTimeoutMs?: number;
  /** Aborting kills a running credential helper and everything it started. */
  signal?: AbortSignal;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

// Long enough for a keychain that asks its user to unlock it; a helper
// that takes longer has hung.
const DEFAULT_HELPER_TIMEOUT_MS = 30_000;

// Docker stores Docker Hub's credentials under its v1 index URL.
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'docker.io', 'index.docker.io']);

/** `host[:port]` for a key of `auths` written as a URL (`https://host/v1/`) or a bare host. */
function hostOfKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

function credentialsFromAuthEntry(
  entry: NonNullable<DockerConfig['auths']>[string],
): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  return undefined;
}

async function readDockerConfig(file: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    // No cause: V8's JSON.parse message quotes the text, and the text holds passwords.
    throw new OciError('CREDENTIALS_UNAVAILABLE', `The Docker config ${file} is not valid JSON.`, {
      details: { file },
    });
  }
}

// The docker-credential-helpers protocol: `docker-credential-<name> get`
// reads the server URL on stdin and prints {ServerURL, Username, Secret};
// Username "<token>" means Secret is an identity token. What a helper prints
// may hold the secret even when it fails (issue 22: one printed its JSON and
// exited 1), so no error here ever carries its output: only the helper's
// name, its exit status, and what we make of them.
async function fromHelper(
  helper: string,
  serverUrl: string,
  options: { runHelper: HelperRunner; env: NodeJS.ProcessEnv; timeoutMs: number; signal?: AbortSignal },
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const outcome = await options.runHelper(program, ['get'], serverUrl, options.env, {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  const unavailable = (message: string, hint: string, details: Record<string, unknown> = {}) =>
    new OciError('CREDENTIALS_UNAVAILABLE', message, { hint, details: { helper: program, ...details } });
  if (outcome.kind === 'not-runnable')
    throw unavailable(
      `The Docker credential helper ${program} could not be run.`,
      `Install ${program}, or remove it from credHelpers/credsStore in your Docker config.`,
    );
  if (outcome.kind === 'timed-out')
    throw unavailable(
      `The Docker credential helper ${program} did not answer within ${options.timeoutMs / 1000} s, so it was stopped.`,
      `Check that ${program} works (\`echo ${serverUrl} | ${program} get\`), or raise ALKI_CREDENTIAL_HELPER_TIMEOUT (seconds).`,
      { timeoutMs: options.timeoutMs },
    );
  if (outcome.status !== 0) {
    // Helpers say "credentials not found" for a server they do not know: that means anonymous, not a failure.
    if (/not found/i.test(outcome.stdout + outcome.stderr)) return undefined;
    throw unavailable(
      `The Docker credential helper ${program} failed with exit code ${outcome.status ?? 'none (killed by a signal)'}; its output is not shown, since it may contain a secret.`,
      `Run \`echo ${serverUrl} | ${program} get\` yourself to see what it says.`,
      { status: outcome.status },
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(outcome.stdout) as typeof parsed;
  } catch {
    // No cause: V8's JSON.parse message quotes the output, which may be the secret.
    throw unavailable(
      `The Docker credential helper ${program} answered with something that is not JSON (not shown, since it may contain a secret).`,
      `Run \`echo ${serverUrl} | ${program} get\` yourself to see what it says.`,
    );
  }
  if (typeof parsed.Secret !== 'string' || !parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: typeof parsed.Username === 'string' ? parsed.Username : '', password: parsed.Secret };
}

function helperTimeout(options: CredentialLookupOptions, env: NodeJS.ProcessEnv): number {
  if (options.helperTimeoutMs !== undefined) return options.helperTimeoutMs;
  const seconds = Number(env.ALKI_CREDENTIAL_HELPER_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_HELPER_TIMEOUT_MS;
}

function dockerConfigFile(
  options: Pick<CredentialLookupOptions, 'dockerConfigPath'>,
  env: NodeJS.ProcessEnv,
) {
  return (
    options.dockerConfigPath ??
    path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json')
  );
}

/** Where registry credentials are configured, never what they are. */
export interface CredentialSources {
  /** The environment variables that set credentials for every registry. */
  variables: string[];
  /** The Docker config file looked at, and whether it exists. */
  dockerConfig: { file: string; exists: boolean };
  /** Registries with a stored login in `auths`. */
  logins: string[];
  /** Registries with their own credential helper (`credHelpers`), with the helper's program. */
  helpers: Array<{ registry: string; program: string }>;
  /** The credential helper for every other registry (`credsStore`), as a program name. */
  store?: string;
}

/**
 * Lists where `findCredentials` would look and what it would find there,
 * without decoding a login or running a helper: for `alki doctor`.
 *
 * @example
 * const sources = await describeCredentialSources();
 * console.log(sources.logins, sources.helpers.map((h) => h.program));
 */
export async function describeCredentialSources(
  options: Pick<CredentialLookupOptions, 'env' | 'dockerConfigPath'> = {},
): Promise<CredentialSources> {
  const env = options.env ?? process.env;
  const variables = [
    ...(env.ALKI_REGISTRY_USERNAME && env.ALKI_REGISTRY_PASSWORD !== undefined
      ? ['ALKI_REGISTRY_USERNAME', 'ALKI_REGISTRY_PASSWORD']
      : []),
    ...(env.ALKI_REGISTRY_TOKEN ? ['ALKI_REGISTRY_TOKEN'] : []),
  ];
  const file = dockerConfigFile(options, env);
  const config = await readDockerConfig(file);
  return {
    variables,
    dockerConfig: { file, exists: config !== undefined },
    logins: Object.entries(config?.auths ?? {})
      .filter(([, entry]) => credentialsFromAuthEntry(entry) !== undefined)
      .map(([key]) => hostOfKey(key)),
    helpers: Object.entries(config?.credHelpers ?? {}).map(([key, helper]) => ({
      registry: hostOfKey(key),
      program: `docker-credential-${helper}`,
    })),
    ...(config?.credsStore ? { store: `docker-credential-${config.credsStore}` } : {}),
  };
}

/**
 * Finds credentials for a registry host, in this order: explicit (flags),
 * the environment (ALKI_REGISTRY_USERNAME + ALKI_REGISTRY_PASSWORD, or
 * ALKI_REGISTRY_TOKEN), then the Docker config: `credHelpers[host]`, `auths`,
 * then `credsStore`. Undefined means anonymous.
 *
 * @example
 * const credentials = await findCredentials('ghcr.io', { env: process.env });
 */
export async function findCredentials(
  registry: string,
  options: CredentialLookupOptions = {},
): Promise<Credentials | undefined> {
  if (options.explicit) return options.explicit;
  const env = options.env ?? process.env;
  if (env.ALKI_REGISTRY_USERNAME && env.ALKI_REGISTRY_PASSWORD !== undefined)
    return { username: env.ALKI_REGISTRY_USERNAME, password: env.ALKI_REGISTRY_PASSWORD };
  if (env.ALKI_REGISTRY_TOKEN) return { identityToken: env.ALKI_REGISTRY_TOKEN };
  const config = await readDockerConfig(dockerConfigFile(options, env));
  if (!config) return undefined;
  const host = registry.toLowerCase();
  const isHub = DOCKER_HUB_HOSTS.has(host);
  const helperOptions = {
    runHelper: options.runHelper ?? spawnHelper,
    env,
    timeoutMs: helperTimeout(options, env),
    signal: options.signal,
  };
  const helper = Object.entries(config.credHelpers ?? {}).find(
    ([key]) => hostOfKey(key) === host || (isHub && DOCKER_HUB_HOSTS.has(hostOfKey(key))),
  )?.[1];
  if (helper) return fromHelper(helper, isHub ? DOCKER_HUB_KEY : host, helperOptions);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const keyHost = hostOfKey(key);
    if (keyHost === host || (isHub && DOCKER_HUB_HOSTS.has(keyHost))) {
      const found = credentialsFromAuthEntry(entry);
      if (found) return found;
    }
  }
  if (config.credsStore) return fromHelper(config.credsStore, isHub ? DOCKER_HUB_KEY : host, helperOptions);
  return undefined;
}
